// Module: bound-argument accessors and the state_dict walk.
#include "sema/Module.h"

#include "sema/Layers.h"

namespace seq::sema {

const BoundArg *BoundArgs::find(std::string_view name) const {
  for (const BoundArg &arg : args)
    if (arg.name == name)
      return &arg;
  return nullptr;
}

const Value &BoundArgs::get(std::string_view name) const {
  static const Value invalid{};
  const BoundArg *arg = find(name);
  return arg ? arg->value : invalid;
}

std::vector<int64_t> BoundArgs::getInts(std::string_view name, size_t n) const {
  const Value &v = get(name);
  if (v.kind == Value::Kind::Int)
    return std::vector<int64_t>(n, v.asInt());
  std::vector<int64_t> out;
  for (const Value &item : v.items())
    out.push_back(item.kind == Value::Kind::Int ? item.asInt() : 0);
  out.resize(n, out.empty() ? 0 : out.back());
  return out;
}

SourceRange BoundArgs::rangeOf(std::string_view name) const {
  const BoundArg *arg = find(name);
  return arg && arg->given ? arg->range : call;
}

const BoundArgs &TraceNode::layerArgs() const {
  static const BoundArgs none;
  return args ? *args : none;
}

ModuleInst::Attributes &ModuleInst::attributes() {
  if (!attributes_)
    attributes_ = std::make_unique<Attributes>();
  return *attributes_;
}

const std::map<std::string, Value> &ModuleInst::constants() const {
  static const std::map<std::string, Value> none;
  return attributes_ ? attributes_->constants : none;
}

std::map<std::string, Value> &ModuleInst::mutableConstants() { return attributes().constants; }

const std::map<std::string, SourceRange> &ModuleInst::absent() const {
  static const std::map<std::string, SourceRange> none;
  return attributes_ ? attributes_->absent : none;
}

std::map<std::string, SourceRange> &ModuleInst::mutableAbsent() { return attributes().absent; }

ModuleInst *ModuleInst::child(std::string_view name) const {
  for (const auto &[childName, module] : children)
    if (childName == name)
      return module;
  return nullptr;
}

static void collect(const ModuleInst &m, const std::string &prefix, std::vector<ParamEntry> &out) {
  if (m.kind == ModuleInst::Kind::Layer && m.layer->parameters)
    for (const LayerParam &p : m.layer->parameters(m.args))
      out.push_back({prefix + p.name, p.shape, &m, p.name});
  for (const auto &[name, child] : m.children)
    collect(*child, prefix + name + ".", out);
}

std::vector<ParamEntry> stateDict(const ModuleInst &root) {
  std::vector<ParamEntry> out;
  collect(root, "", out);
  return out;
}

} // namespace seq::sema
