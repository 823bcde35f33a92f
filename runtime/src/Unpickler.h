// Unpickler.h: a restricted unpickler for the data.pkl of a PyTorch
// state_dict, as torch.save writes it (pickle protocol 2, also 3 to 5).
//
// It accepts exactly what a state_dict holds, as torch.load(weights_only=
// True) does: an OrderedDict (or dict) of string keys to tensors rebuilt by
// torch._utils._rebuild_tensor_v2 (or _rebuild_parameter) over storages
// named by persistent ids, plus the tuples, integers, booleans, None and
// strings those need and the `_metadata` attribute set by BUILD. Any other
// global (os.system, builtins.eval, ...), a call of anything but OrderedDict
// and a tensor rebuild, and every opcode a state_dict does not use is
// refused by name, before anything is called. Nothing in the pickle is
// executed: the "calls" are interpreted.
#pragma once

#include "Dtype.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace seq::rt {

// A tensor of the state_dict, as _rebuild_tensor_v2 describes it: a view
// of `storageNumel` elements of `dtype` in zip entry data/<storageKey>.
// Validated: every element of the view lies inside the storage.
struct PickledTensor {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::string storageKey;
  std::uint64_t storageNumel = 0;
  std::uint64_t offset = 0; // in elements
  std::vector<std::uint64_t> shape;
  std::vector<std::uint64_t> stride; // in elements
};

// The tensors of the state_dict pickled in `pickle`, in the dict's order.
// `where` names the pickle in messages ("'w.pth': archive/data.pkl").
// Throws Error(SEQRT_ERR_FORMAT) for anything else.
std::vector<PickledTensor> unpickleStateDict(std::span<const std::byte> pickle,
                                             const std::string &where);

} // namespace seq::rt
