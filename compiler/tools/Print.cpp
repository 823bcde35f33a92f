// Print: nn.Module.__repr__ (PyTorch 1.13) and mindspore.nn.Cell.__repr__,
// reproduced character for character.
#include "tools/Print.h"

#include "sema/Layers.h"

#include <fmt/format.h>

namespace seq::tools {

using sema::ModuleInst;

namespace {

// torch.nn.modules.module._addindent: indent every line but the first.
std::string addIndent(const std::string &text, int spaces) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '\n')
      out += std::string(size_t(spaces), ' ');
  }
  return out;
}

std::string extraRepr(const ModuleInst &m) {
  if (m.kind != ModuleInst::Kind::Layer || !m.layer->extraRepr)
    return "";
  return m.layer->extraRepr(m.args);
}

std::string pytorchRepr(const ModuleInst &m) {
  std::string extra = extraRepr(m);
  std::vector<std::string> lines;
  if (!extra.empty())
    lines.push_back(extra);
  for (const auto &[name, child] : m.children())
    lines.push_back(fmt::format("({}): {}", name, addIndent(pytorchRepr(*child), 2)));
  std::string out = std::string(m.className()) + "(";
  if (!lines.empty()) {
    if (!extra.empty() && m.children().empty())
      out += extra;
    else
      out += "\n  " + fmt::format("{}", fmt::join(lines, "\n  ")) + "\n";
  }
  return out + ")";
}

// MindSpore names its layers' fields differently; where a layer has a
// MindSpore counterpart, its fields are shown with this layer's values
// (a PyTorch-semantics Conv2d has a bias and pads explicitly).
std::string mindsporeExtra(const ModuleInst &m) {
  if (m.kind != ModuleInst::Kind::Layer)
    return "";
  const sema::BoundArgs &a = m.args;
  std::string_view name = m.layer->name;
  if (name == "Conv2d") {
    const sema::Value &padding = a.get("padding");
    std::string padMode = padding.kind == sema::Value::Kind::Str ? padding.str() : "pad";
    std::vector<int64_t> k = a.getInts("kernel_size", 2), s = a.getInts("stride", 2),
                         d = a.getInts("dilation", 2);
    std::string pad = padding.kind == sema::Value::Kind::Str ? "0" : sema::pythonStr(padding);
    return fmt::format("input_channels={}, output_channels={}, kernel_size=({}, {}), stride=({}, {}), "
                       "pad_mode={}, padding={}, dilation=({}, {}), group={}, has_bias={}, "
                       "weight_init=normal, bias_init=zeros, format=NCHW",
                       a.getInt("in_channels"), a.getInt("out_channels"), k[0], k[1], s[0], s[1],
                       padMode, pad, d[0], d[1], a.getInt("groups"), a.getBool("bias") ? "True" : "False");
  }
  if (name == "Linear")
    return fmt::format("input_channels={}, output_channels={}, has_bias={}", a.getInt("in_features"),
                       a.getInt("out_features"), a.getBool("bias") ? "True" : "False");
  if (name == "ReLU" || name == "Sigmoid" || name == "Tanh" || name == "Flatten" || name == "Identity")
    return "";
  return extraRepr(m);
}

// MindSpore's names for the containers and layers that have other names.
std::string mindsporeName(const ModuleInst &m) {
  if (m.className() == "Sequential" && m.kind == ModuleInst::Kind::Sequential)
    return "SequentialCell";
  if (m.className() == "ModuleList" && m.kind == ModuleInst::Kind::ModuleList)
    return "CellList";
  if (m.className() == "Linear" && m.kind == ModuleInst::Kind::Layer)
    return "Dense";
  return std::string(m.className());
}

std::string mindsporeRepr(const ModuleInst &m) {
  std::string extra = mindsporeExtra(m);
  std::string out = mindsporeName(m) + "<";
  if (!m.children().empty()) {
    std::string sub = "\n";
    if (!extra.empty())
      sub += extra + "\n";
    for (const auto &[name, child] : m.children())
      sub += fmt::format("({}): {}\n", name, mindsporeRepr(*child));
    out += addIndent(sub, 2);
  } else {
    out += extra;
  }
  return out + ">";
}

} // namespace

std::string printModel(const ModuleInst &root, PrintStyle style) {
  return (style == PrintStyle::PyTorch ? pytorchRepr(root) : mindsporeRepr(root)) + "\n";
}

} // namespace seq::tools
