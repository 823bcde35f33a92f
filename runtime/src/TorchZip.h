// TorchZip.h: the tensors of the zip file that torch.save(state_dict)
// writes: <archive>/data.pkl (read by the restricted unpickler) and the
// storages <archive>/data/<key> it names.
#pragma once

#include "WeightsFile.h"

#include <span>
#include <string>

namespace seq::rt {

// Parses `image` (a torch.save zip) named `name` in messages. Tensors that
// are contiguous views borrow the image; other views are gathered. Throws
// Error(SEQRT_ERR_FORMAT) for a malformed archive or pickle, a refused
// global or opcode, a storage of the wrong size, or a view outside its
// storage. This is the entry point for fuzzing the reader.
WeightsFile parseTorchZip(std::span<const std::byte> image, std::string name);

} // namespace seq::rt
