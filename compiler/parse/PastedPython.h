// PastedPython: recognises lines pasted from PyTorch code in a file that
// does not parse (`class Net(nn.Module):`, `def forward(self, x):`,
// `def __init__(...)`, `super().__init__()`, `if c:`) and Python forms
// within lines (dict and set literals, `*args` and `**kwargs` parameters,
// `**` unpacking), and reports each with its .seq form, instead of the
// parser's "unexpected ..." messages.
#pragma once

#include "basic/Diagnostics.h"

#include <string_view>

namespace seq::parse {

// Reports every pasted Python line and form of `text`; returns how many.
unsigned reportPastedPython(std::string_view text, FileId file, Diagnostics &diags);

} // namespace seq::parse
