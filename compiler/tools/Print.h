// Print: a checked model as PyTorch's print(model) shows it (1.13), or in
// MindSpore's style.
#pragma once

#include "sema/Module.h"

#include <string>

namespace seq::tools {

enum class PrintStyle { PyTorch, MindSpore };

// The text, with a final newline.
std::string printModel(const sema::ModuleInst &root, PrintStyle style);

} // namespace seq::tools
