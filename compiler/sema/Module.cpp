// Module: the parameter-name table, bound-argument accessors, the module
// arena and attributes, and the state_dict walk.
#include "sema/Module.h"

#include "sema/Layers.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>

namespace seq::sema {

namespace paramnames {
namespace {

// 256 chunks of 65,536 names: 2^24 ids. A name, once in, never moves, so
// that name() reads without a lock. A chunk's pages are touched as it
// fills (a run has a few hundred names: one page).
constexpr uint32_t kChunkBits = 16, kChunk = 1u << kChunkBits, kChunks = (1u << 24) >> kChunkBits;

struct Table {
  std::mutex mutex;
  std::unordered_map<std::string_view, uint32_t> ids; // views of the copies
  std::atomic<const char **> chunks[kChunks] = {};
  uint32_t count = 1;
  Table() { // id 0, "": a default-constructed BoundArg's
    chunks[0] = new const char *[kChunk];
    chunks[0][0] = "";
    ids.emplace("", 0);
  }
};

Table &table() {
  static Table *t = new Table; // never destroyed: BoundArgs may outlive static destructors
  return *t;
}

} // namespace

uint32_t intern(std::string_view name) {
  Table &t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  if (auto it = t.ids.find(name); it != t.ids.end())
    return it->second;
  if (t.count == kChunk * kChunks) {
    fmt::print(stderr, "internal compiler error: more than {} distinct parameter names\n", t.count);
    std::abort();
  }
  uint32_t id = t.count++;
  const char **chunk = t.chunks[id >> kChunkBits].load(std::memory_order_relaxed);
  if (!chunk) {
    chunk = new const char *[kChunk];
    t.chunks[id >> kChunkBits].store(chunk, std::memory_order_release);
  }
  char *copy = new char[name.size() + 1];
  std::copy(name.begin(), name.end(), copy);
  copy[name.size()] = '\0';
  chunk[id & (kChunk - 1)] = copy;
  t.ids.emplace(std::string_view(copy, name.size()), id);
  return id;
}

const char *name(uint32_t id) {
  Table &t = table();
  return t.chunks[id >> kChunkBits].load(std::memory_order_acquire)[id & (kChunk - 1)];
}

} // namespace paramnames

void BoundArgs::compact(const std::vector<BoundArg> &shared) {
  size_t given = 0;
  for (const BoundArg &arg : args)
    given += arg.given;
  BoundList kept;
  kept.reserve(given); // exact: it lives as long as the model
  for (BoundArg &arg : args)
    if (arg.given)
      kept.push_back(std::move(arg));
  args = std::move(kept);
  defaults = &shared;
}

BoundList &BoundList::operator=(const BoundList &other) {
  if (this != &other) {
    clear();
    reserve(other.size_);
    for (const BoundArg &arg : other)
      push_back(arg);
  }
  return *this;
}

BoundList &BoundList::operator=(BoundList &&other) noexcept {
  if (this != &other) {
    clear();
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
  }
  return *this;
}

BoundList &BoundList::operator=(std::initializer_list<BoundArg> args) {
  clear();
  reserve(args.size());
  for (const BoundArg &arg : args)
    push_back(arg);
  return *this;
}

void BoundList::reserve(size_t n) {
  if (n <= capacity_)
    return;
  // From the AST's node pool: a layer's one or two arguments without
  // malloc's header.
  BoundArg *data = static_cast<BoundArg *>(ast::PooledNode::operator new(n * sizeof(BoundArg)));
  for (uint32_t i = 0; i < size_; ++i) {
    new (data + i) BoundArg(std::move(data_[i]));
    data_[i].~BoundArg();
  }
  ast::PooledNode::operator delete(data_, capacity_ * sizeof(BoundArg));
  data_ = data;
  capacity_ = uint32_t(n);
}

void BoundList::push_back(BoundArg arg) {
  if (size_ == capacity_)
    reserve(capacity_ ? size_t(capacity_) * 2 : 4);
  new (data_ + size_) BoundArg(std::move(arg));
  ++size_;
}

void BoundList::clear() {
  for (uint32_t i = 0; i < size_; ++i)
    data_[i].~BoundArg();
  ast::PooledNode::operator delete(data_, capacity_ * sizeof(BoundArg));
  data_ = nullptr;
  size_ = capacity_ = 0;
}

std::vector<const BoundArg *> BoundArgs::all() const {
  std::vector<const BoundArg *> out;
  // Interned: equal names have equal ids.
  auto own = [&](uint32_t name) -> const BoundArg * {
    for (const BoundArg &arg : args)
      if (arg.nameId() == name)
        return &arg;
    return nullptr;
  };
  if (defaults)
    for (const BoundArg &d : *defaults) {
      const BoundArg *arg = own(d.nameId());
      out.push_back(arg ? arg : &d);
    }
  for (const BoundArg &arg : args)
    if (!defaults || std::none_of(defaults->begin(), defaults->end(),
                                  [&](const BoundArg &d) { return arg.nameId() == d.nameId(); }))
      out.push_back(&arg);
  return out;
}

const BoundArg *BoundArgs::find(std::string_view name) const {
  for (const BoundArg &arg : args)
    if (arg.name() == name)
      return &arg;
  if (defaults)
    for (const BoundArg &arg : *defaults)
      if (arg.name() == name)
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

void ChildName::setInline(std::string_view s) {
  bits_ = uintptr_t(s.size() * 2 + 1);
  if (!s.empty()) // an empty view's data may be null, which memcpy must not get
    std::memcpy(reinterpret_cast<char *>(&bits_) + 1, s.data(), s.size());
}

void ChildName::set(std::string_view s) {
  if (s.size() <= kInline)
    setInline(s);
  else
    bits_ = reinterpret_cast<uintptr_t>(new std::string(s));
}

void ChildName::release() {
  if (!isInline())
    delete reinterpret_cast<std::string *>(bits_);
}

std::string_view ChildName::view() const {
  if (!isInline())
    return *reinterpret_cast<const std::string *>(bits_);
  return {reinterpret_cast<const char *>(&bits_) + 1, size_t(bits_ & 0xff) / 2};
}

ChildName &ChildName::operator=(const ChildName &other) {
  if (this != &other) {
    ChildName copy(other);
    *this = std::move(copy);
  }
  return *this;
}

ChildName &ChildName::operator=(ChildName &&other) noexcept {
  if (this != &other) {
    release();
    bits_ = other.bits_;
    other.setInline({});
  }
  return *this;
}

std::string_view TextArena::copy(std::string_view s, size_t align) {
  if (s.empty())
    return {};
  used_ = std::min(size_, (used_ + align - 1) & ~(align - 1));
  if (size_ - used_ < s.size()) {
    size_ = std::max<size_t>(s.size(), 16384);
    blocks_.push_back(std::make_unique<char[]>(size_));
    used_ = 0;
  }
  char *at = blocks_.back().get() + used_;
  std::copy(s.begin(), s.end(), at);
  used_ += s.size();
  return {at, s.size()};
}

size_t ShapeHash::operator()(const SymShape &shape) const {
  size_t h = shape.size();
  for (const SymInt &d : shape)
    h = (h * 1000003) ^ std::hash<int64_t>()(d.coeff * 31 + d.constant);
  return h;
}

const BoundArgs &TraceNode::layerArgs() const {
  static const BoundArgs none;
  return args ? *args : none;
}

std::string_view ModuleInst::className() const {
  if (attributes_ && attributes_->className)
    return attributes_->className;
  switch (kind) {
  case Kind::Layer: return layer ? std::string_view(layer->name) : std::string_view();
  case Kind::Sequential: return "Sequential";
  case Kind::ModuleList: return "ModuleList";
  case Kind::ModuleDict: return "ModuleDict";
  case Kind::User: break;
  }
  return {};
}

void ModuleInst::setClassName(const char *name) {
  std::string_view own = attributes_ && attributes_->className ? std::string_view() : className();
  if (own.data() && own == name)
    return; // the layer's or the kind's: nothing to keep
  attributes().className = name;
}

void ModuleInst::setRange(SourceRange range) {
  if (!(attributes_ && attributes_->range) && range.file == args.call.file &&
      range.begin == args.call.begin && range.end == args.call.end)
    return;
  attributes().range = range;
}

void ModuleInst::setPath(std::string_view path) {
  pathData_ = path.data();
  if (path.size() < kLongPath) {
    pathSize_ = uint32_t(path.size());
    return;
  }
  attributes().longPath = path;
  pathSize_ = kLongPath;
}

ModuleArena::Block::~Block() {
  for (size_t i = used; i-- > 0;)
    at(i)->~ModuleInst();
}

ModuleInst &ModuleArena::emplace_back() {
  if (blocks_.empty() || blocks_.back()->used == Block::kCapacity)
    blocks_.emplace_back(new Block); // not value-initialized: pages are touched as modules are made
  Block &block = *blocks_.back();
  ModuleInst *module = new (block.at(block.used)) ModuleInst();
  ++block.used;
  return *module;
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

const ModuleInst::Children &ModuleInst::children() const {
  static const Children none;
  return attributes_ ? attributes_->children : none;
}

ModuleInst::Children &ModuleInst::mutableChildren() { return attributes().children; }

ModuleInst *ModuleInst::child(std::string_view name) const {
  for (const auto &[childName, module] : children())
    if (childName == name)
      return module;
  return nullptr;
}

static void collect(const ModuleInst &m, const std::string &prefix, std::vector<ParamEntry> &out) {
  if (m.kind == ModuleInst::Kind::Layer && m.layer->parameters)
    for (const LayerParam &p : m.layer->parameters(m.args))
      out.push_back({prefix + p.name, p.shape, &m, p.name});
  for (const auto &[name, child] : m.children())
    collect(*child, prefix + name + ".", out);
}

std::vector<ParamEntry> stateDict(const ModuleInst &root) {
  std::vector<ParamEntry> out;
  collect(root, "", out);
  return out;
}

} // namespace seq::sema
