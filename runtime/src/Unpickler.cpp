// Unpickler.cpp: interprets the pickle opcodes a state_dict uses, with
// every global checked against an allow-list when it is named and every
// "call" interpreted (OrderedDict(), a tensor rebuild) instead of executed.
// Values live in an arena owned by the unpickler, so cycles a hostile
// pickle builds through the memo cost nothing and leak nothing; nothing
// walks the values recursively.
#include "Unpickler.h"

#include "Status.h"
#include "Text.h"

#include <array>
#include <cstdio>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>

namespace seq::rt {
namespace {

constexpr std::size_t kMaxRank = 64;
constexpr int kHighestProtocol = 5;

struct Value {
  enum class Kind { None, Bool, Int, String, Tuple, Dict, Global, Storage, Tensor };
  explicit Value(Kind k) : kind(k) {}

  Kind kind;
  std::int64_t integer = 0;   // Int, Bool
  std::string text;           // String; Global: "module.name"
  std::vector<Value *> items; // Tuple; Dict: keys and values, alternating
  std::unordered_map<std::string, std::size_t> stringKeys; // Dict: key -> index in items
  PickledTensor tensor;       // Tensor; Storage: dtype, key and numel only
};

const char *kindName(Value::Kind kind) {
  switch (kind) {
  case Value::Kind::None: return "None";
  case Value::Kind::Bool: return "a bool";
  case Value::Kind::Int: return "an int";
  case Value::Kind::String: return "a string";
  case Value::Kind::Tuple: return "a tuple";
  case Value::Kind::Dict: return "a dict";
  case Value::Kind::Global: return "a class or function";
  case Value::Kind::Storage: return "a storage";
  case Value::Kind::Tensor: return "a tensor";
  }
  return "a value";
}

// What an allowed global is: a callable the unpickler interprets, or a
// storage type (only named in persistent ids).
enum class Callable { None, OrderedDict, RebuildTensor, RebuildParameter };

struct AllowedGlobal {
  std::string_view name;
  Callable callable;
  std::optional<Dtype> storage;
};

constexpr std::array<AllowedGlobal, 13> kAllowedGlobals = {{
    {"collections.OrderedDict", Callable::OrderedDict, std::nullopt},
    {"torch._utils._rebuild_tensor_v2", Callable::RebuildTensor, std::nullopt},
    {"torch._utils._rebuild_parameter", Callable::RebuildParameter, std::nullopt},
    {"torch.FloatStorage", Callable::None, Dtype::F32},
    {"torch.HalfStorage", Callable::None, Dtype::F16},
    {"torch.BFloat16Storage", Callable::None, Dtype::BF16},
    {"torch.DoubleStorage", Callable::None, Dtype::F64},
    {"torch.LongStorage", Callable::None, Dtype::I64},
    {"torch.IntStorage", Callable::None, Dtype::I32},
    {"torch.ShortStorage", Callable::None, Dtype::I16},
    {"torch.CharStorage", Callable::None, Dtype::I8},
    {"torch.ByteStorage", Callable::None, Dtype::U8},
    {"torch.BoolStorage", Callable::None, Dtype::Bool},
}};

const AllowedGlobal *findGlobal(std::string_view name) {
  for (const AllowedGlobal &global : kAllowedGlobals)
    if (global.name == name)
      return &global;
  return nullptr;
}

// The names of the opcodes this unpickler refuses, for its messages.
std::string opcodeName(std::uint8_t op) {
  static const std::unordered_map<std::uint8_t, const char *> names = {
      {'i', "INST"},        {'o', "OBJ"},           {0x81, "NEWOBJ"},
      {0x92, "NEWOBJ_EX"},  {0x82, "EXT1"},         {0x83, "EXT2"},
      {0x84, "EXT4"},       {'P', "PERSID"},        {']', "EMPTY_LIST"},
      {'l', "LIST"},        {'a', "APPEND"},        {'e', "APPENDS"},
      {'d', "DICT"},        {'I', "INT"},           {'L', "LONG"},
      {0x8b, "LONG4"},      {'F', "FLOAT"},         {'G', "BINFLOAT"},
      {'S', "STRING"},      {'T', "BINSTRING"},     {'U', "SHORT_BINSTRING"},
      {'V', "UNICODE"},     {'B', "BINBYTES"},      {'C', "SHORT_BINBYTES"},
      {0x8e, "BINBYTES8"},  {0x8f, "EMPTY_SET"},    {0x90, "ADDITEMS"},
      {0x91, "FROZENSET"},  {0x96, "BYTEARRAY8"},   {0x97, "NEXT_BUFFER"},
      {0x98, "READONLY_BUFFER"}, {'g', "GET"},      {'p', "PUT"},
      {'2', "DUP"},
  };
  auto found = names.find(op);
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", op);
  return found != names.end() ? std::string(found->second) + " (" + hex + ")"
                              : std::string("unknown opcode ") + hex;
}

bool validUtf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    std::size_t length = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (length == 0 || i + length > text.size())
      return false;
    for (std::size_t k = 1; k < length; ++k)
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 2)
        return false;
    i += length;
  }
  return true;
}

class Unpickler {
public:
  Unpickler(std::span<const std::byte> pickle, const std::string &where)
      : data_(pickle), where_(where) {}

  std::vector<PickledTensor> run() {
    while (true) {
      opStart_ = pos_;
      std::uint8_t op = byte();
      if (op == '.')
        break;
      step(op);
    }
    if (stack_.empty())
      fail("STOP with an empty stack");
    return stateDict(*stack_.back());
  }

private:
  [[noreturn]] void fail(const std::string &what) const {
    throw Error(SEQRT_ERR_FORMAT,
                where_ + " at byte " + std::to_string(opStart_) + ": " + what);
  }

  // ---- reading the opcode stream ----
  std::span<const std::byte> take(std::uint64_t count) {
    if (count > data_.size() - pos_)
      fail("the pickle is truncated (" + std::to_string(count) +
           " bytes needed, " + std::to_string(data_.size() - pos_) + " left)");
    std::span<const std::byte> bytes = data_.subspan(pos_, count);
    pos_ += count;
    return bytes;
  }
  std::uint64_t little(std::size_t count) {
    std::span<const std::byte> bytes = take(count);
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < count; ++i)
      value |= std::uint64_t{std::to_integer<std::uint8_t>(bytes[i])} << (8 * i);
    return value;
  }
  std::uint8_t byte() { return static_cast<std::uint8_t>(little(1)); }
  std::string text(std::uint64_t length) {
    std::span<const std::byte> bytes = take(length);
    std::string value(reinterpret_cast<const char *>(bytes.data()), bytes.size());
    if (!validUtf8(value))
      fail("a string that is not valid UTF-8");
    return value;
  }
  std::string line() { // GLOBAL's arguments, each ended by a newline
    std::size_t start = pos_;
    while (pos_ < data_.size() && data_[pos_] != std::byte{'\n'})
      ++pos_;
    if (pos_ == data_.size())
      fail("the pickle is truncated in a GLOBAL");
    std::string value(reinterpret_cast<const char *>(data_.data()) + start, pos_ - start);
    ++pos_;
    return value;
  }

  // ---- the stack, the marks and the memo ----
  Value *make(Value::Kind kind) {
    arena_.push_back(std::make_unique<Value>(kind));
    return arena_.back().get();
  }
  Value *push(Value *value) {
    stack_.push_back(value);
    return value;
  }
  Value *pop() {
    if (stack_.empty() || (!marks_.empty() && marks_.back() == stack_.size()))
      fail("a pop from an empty stack");
    Value *value = stack_.back();
    stack_.pop_back();
    return value;
  }
  Value *top() {
    if (stack_.empty() || (!marks_.empty() && marks_.back() == stack_.size()))
      fail("an empty stack");
    return stack_.back();
  }
  std::vector<Value *> popMark() {
    if (marks_.empty())
      fail("no MARK to pop to");
    std::vector<Value *> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()),
                               stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  Value *tuple(std::vector<Value *> items) {
    Value *value = make(Value::Kind::Tuple);
    value->items = std::move(items);
    return value;
  }
  Value *memoGet(std::uint64_t key) {
    auto found = memo_.find(key);
    if (found == memo_.end())
      fail("memo entry " + std::to_string(key) + " is read before it is set");
    return found->second;
  }

  void step(std::uint8_t op) {
    switch (op) {
    case 0x80: // PROTO
      if (int protocol = byte(); protocol > kHighestProtocol)
        fail("pickle protocol " + std::to_string(protocol) + " is not supported");
      return;
    case 0x95: take(8); return; // FRAME
    case '(': marks_.push_back(stack_.size()); return;
    case '1': popMark(); return; // POP_MARK
    case '0': pop(); return;     // POP
    case ')': push(tuple({})); return;
    case 't': push(tuple(popMark())); return;
    case 0x85: case 0x86: case 0x87: { // TUPLE1..3
      std::vector<Value *> items(op - 0x84);
      for (auto item = items.rbegin(); item != items.rend(); ++item)
        *item = pop();
      push(tuple(std::move(items)));
      return;
    }
    case '}': push(make(Value::Kind::Dict)); return;
    case 's': { Value *value = pop(), *key = pop(); setItems(top(), {key, value}); return; }
    case 'u': { std::vector<Value *> items = popMark(); setItems(top(), items); return; }
    case 'N': push(make(Value::Kind::None)); return;
    case 0x88: case 0x89: push(boolean(op == 0x88)); return;
    case 'J': push(integer(static_cast<std::int32_t>(little(4)))); return;
    case 'K': push(integer(little(1))); return;
    case 'M': push(integer(little(2))); return;
    case 0x8a: push(integer(long1())); return;
    case 'X': push(string(text(little(4)))); return;
    case 0x8c: push(string(text(little(1)))); return;
    case 0x8d: push(string(text(little(8)))); return;
    case 'c': { std::string module = line(); push(global(module + "." + line())); return; }
    case 0x93: { // STACK_GLOBAL
      Value *name = pop(), *module = pop();
      if (name->kind != Value::Kind::String || module->kind != Value::Kind::String)
        fail("STACK_GLOBAL of values that are not strings");
      push(global(module->text + "." + name->text));
      return;
    }
    case 'q': memo_[little(1)] = top(); return;
    case 'r': memo_[little(4)] = top(); return;
    case 0x94: memo_[memo_.size()] = top(); return; // MEMOIZE
    case 'h': push(memoGet(little(1))); return;
    case 'j': push(memoGet(little(4))); return;
    case 'R': { Value *args = pop(), *callable = pop(); push(call(*callable, *args)); return; }
    case 'b': build(); return;
    case 'Q': push(storage(*pop())); return; // BINPERSID
    default:
      fail("refuses pickle opcode " + opcodeName(op) +
           ": a state_dict does not use it (only what torch.load(weights_only=True) "
           "accepts is read)");
    }
  }

  // ---- values ----
  Value *integer(std::int64_t value) {
    Value *result = make(Value::Kind::Int);
    result->integer = value;
    return result;
  }
  Value *boolean(bool value) {
    Value *result = make(Value::Kind::Bool);
    result->integer = value;
    return result;
  }
  Value *string(std::string value) {
    Value *result = make(Value::Kind::String);
    result->text = std::move(value);
    return result;
  }
  std::int64_t long1() {
    std::size_t count = byte();
    if (count > 8)
      fail("an integer of " + std::to_string(count) + " bytes (at most 8 are supported)");
    if (count == 0)
      return 0;
    std::uint64_t value = little(count);
    if (count < 8 && (value >> (8 * count - 1)) & 1) // sign-extend
      value |= ~std::uint64_t{0} << (8 * count);
    return static_cast<std::int64_t>(value);
  }

  Value *global(const std::string &name) {
    if (findGlobal(name) == nullptr)
      fail("refuses global " + quoted(name) +
           ": a state_dict holds only tensors in an OrderedDict, so, as "
           "torch.load(weights_only=True), nothing else is loaded");
    Value *value = make(Value::Kind::Global);
    value->text = name;
    return value;
  }

  void setItems(Value *dict, const std::vector<Value *> &items) {
    if (dict->kind != Value::Kind::Dict)
      fail(std::string("SETITEM on ") + kindName(dict->kind) + ", not a dict");
    if (items.size() % 2 != 0)
      fail("SETITEMS with an odd number of values");
    for (std::size_t i = 0; i < items.size(); i += 2) {
      if (items[i]->kind == Value::Kind::String) {
        auto [slot, fresh] = dict->stringKeys.emplace(items[i]->text, dict->items.size());
        if (!fresh) { // a repeated key replaces the value, as in Python
          dict->items[slot->second + 1] = items[i + 1];
          continue;
        }
      }
      dict->items.push_back(items[i]);
      dict->items.push_back(items[i + 1]);
    }
  }

  // BUILD: only an OrderedDict's attributes (torch.save sets `_metadata`),
  // which the weights do not need.
  void build() {
    Value *state = pop();
    Value *instance = top();
    if (instance->kind != Value::Kind::Dict)
      fail(std::string("refuses BUILD of ") + kindName(instance->kind) +
           ": only an OrderedDict's attributes (_metadata) are set");
    if (state->kind != Value::Kind::Dict)
      fail(std::string("refuses BUILD with ") + kindName(state->kind) +
           ": an OrderedDict's attributes are a dict");
    for (std::size_t i = 0; i < state->items.size(); i += 2)
      if (state->items[i]->kind != Value::Kind::String)
        fail("refuses BUILD with an attribute name that is not a string");
  }

  Value *call(const Value &callable, const Value &args) {
    if (callable.kind != Value::Kind::Global)
      fail(std::string("refuses REDUCE of ") + kindName(callable.kind));
    if (args.kind != Value::Kind::Tuple)
      fail("REDUCE of " + quoted(callable.text) + " with arguments that are not a tuple");
    switch (findGlobal(callable.text)->callable) {
    case Callable::OrderedDict:
      if (!args.items.empty())
        fail("refuses OrderedDict() with arguments");
      return make(Value::Kind::Dict);
    case Callable::RebuildTensor:
      return rebuildTensor(args.items);
    case Callable::RebuildParameter:
      if (args.items.size() != 3 || args.items[0]->kind != Value::Kind::Tensor)
        fail("_rebuild_parameter takes (tensor, requires_grad, hooks)");
      return args.items[0];
    case Callable::None:
      break;
    }
    fail("refuses REDUCE of " + quoted(callable.text) +
         ": only OrderedDict() and tensor rebuilds (torch._utils._rebuild_tensor_v2) are called");
  }

  std::uint64_t nonNegative(const Value *value, const char *what) {
    if (value->kind != Value::Kind::Int || value->integer < 0)
      fail(std::string(what) + " is " + (value->kind == Value::Kind::Int
                                             ? std::to_string(value->integer)
                                             : kindName(value->kind)) +
           ", not a non-negative integer");
    return static_cast<std::uint64_t>(value->integer);
  }

  std::vector<std::uint64_t> dims(const Value *value, const char *what) {
    if (value->kind != Value::Kind::Tuple)
      fail(std::string("a tensor's ") + what + " is " + kindName(value->kind) + ", not a tuple");
    if (value->items.size() > kMaxRank)
      fail(std::string("a tensor's ") + what + " has " + std::to_string(value->items.size()) +
           " dimensions (at most " + std::to_string(kMaxRank) + ")");
    std::vector<std::uint64_t> result;
    for (const Value *item : value->items)
      result.push_back(nonNegative(item, "a dimension"));
    return result;
  }

  // _rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
  // backward_hooks[, metadata]), checked to lie inside the storage.
  Value *rebuildTensor(const std::vector<Value *> &args) {
    if (args.size() != 6 && args.size() != 7)
      fail("_rebuild_tensor_v2 takes 6 or 7 arguments, not " + std::to_string(args.size()));
    if (args[0]->kind != Value::Kind::Storage)
      fail(std::string("_rebuild_tensor_v2 of ") + kindName(args[0]->kind) + ", not a storage");
    if (args[4]->kind != Value::Kind::Bool || args[5]->kind != Value::Kind::Dict ||
        (args.size() == 7 && args[6]->kind != Value::Kind::Dict &&
         args[6]->kind != Value::Kind::None))
      fail("_rebuild_tensor_v2 with a malformed requires_grad, hooks or metadata argument");
    Value *result = make(Value::Kind::Tensor);
    PickledTensor &tensor = result->tensor;
    tensor = args[0]->tensor;
    tensor.offset = nonNegative(args[1], "a tensor's storage offset");
    tensor.shape = dims(args[2], "size");
    tensor.stride = dims(args[3], "stride");
    if (tensor.stride.size() != tensor.shape.size())
      fail("a tensor of " + std::to_string(tensor.shape.size()) + " dimensions with " +
           std::to_string(tensor.stride.size()) + " strides");
    checkExtent(tensor);
    return result;
  }

  void checkExtent(const PickledTensor &tensor) {
    const std::string view = "a tensor of size " + formatShape(tensor.shape) + ", stride " +
                             formatShape(tensor.stride) + " at offset " +
                             std::to_string(tensor.offset);
    std::uint64_t elements = 1, last = tensor.offset;
    bool overflow = false;
    for (std::size_t i = 0; i < tensor.shape.size(); ++i) {
      std::uint64_t reach = 0;
      overflow |= __builtin_mul_overflow(elements, tensor.shape[i], &elements);
      if (tensor.shape[i] > 0) {
        overflow |= __builtin_mul_overflow(tensor.shape[i] - 1, tensor.stride[i], &reach);
        overflow |= __builtin_add_overflow(last, reach, &last);
      }
    }
    std::uint64_t bytes = 0;
    overflow |= __builtin_mul_overflow(elements, dtypeSize(tensor.dtype), &bytes);
    if (overflow)
      fail("the size of " + view + " overflows 64 bits");
    bool inside = elements == 0 ? tensor.offset <= tensor.storageNumel : last < tensor.storageNumel;
    if (!inside)
      fail(view + " reaches past the end of its storage of " +
           std::to_string(tensor.storageNumel) + " elements");
  }

  // A persistent id: ('storage', torch.<T>Storage, key, location, numel).
  Value *storage(const Value &pid) {
    const std::vector<Value *> &items = pid.items;
    if (pid.kind != Value::Kind::Tuple || items.size() != 5 ||
        items[0]->kind != Value::Kind::String || items[0]->text != "storage")
      fail("a persistent id that is not ('storage', type, key, location, size)");
    const AllowedGlobal *type =
        items[1]->kind == Value::Kind::Global ? findGlobal(items[1]->text) : nullptr;
    if (type == nullptr || !type->storage)
      fail("a persistent id whose storage type is not a torch.*Storage");
    if (items[2]->kind != Value::Kind::String || items[3]->kind != Value::Kind::String)
      fail("a persistent id whose key or location is not a string");
    Value *result = make(Value::Kind::Storage);
    result->tensor.dtype = *type->storage;
    result->tensor.storageKey = items[2]->text;
    result->tensor.storageNumel = nonNegative(items[4], "a storage's size");
    auto [known, fresh] = storages_.emplace(result->tensor.storageKey, result);
    if (!fresh && (known->second->tensor.dtype != result->tensor.dtype ||
                   known->second->tensor.storageNumel != result->tensor.storageNumel))
      fail("storage " + quoted(result->tensor.storageKey) +
           " is named with two different types or sizes");
    return result;
  }

  // The top-level object: a dict of names to tensors.
  std::vector<PickledTensor> stateDict(const Value &root) const {
    if (root.kind != Value::Kind::Dict)
      fail(std::string("the file holds ") + kindName(root.kind) +
           ", not a state_dict; save model.state_dict()");
    std::vector<PickledTensor> tensors;
    for (std::size_t i = 0; i < root.items.size(); i += 2) {
      const Value &key = *root.items[i], &value = *root.items[i + 1];
      if (key.kind != Value::Kind::String)
        fail(std::string("the state_dict has a key that is ") + kindName(key.kind) +
             ", not a string");
      if (value.kind != Value::Kind::Tensor)
        fail("the state_dict's entry " + quoted(key.text) + " is " + kindName(value.kind) +
             ", not a tensor; save model.state_dict() itself, not a checkpoint around it");
      tensors.push_back(value.tensor);
      tensors.back().name = key.text;
    }
    return tensors;
  }

  std::span<const std::byte> data_;
  const std::string &where_;
  std::size_t pos_ = 0, opStart_ = 0;
  std::vector<std::unique_ptr<Value>> arena_;
  std::vector<Value *> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, Value *> memo_;
  std::unordered_map<std::string, const Value *> storages_;
};

} // namespace

std::vector<PickledTensor> unpickleStateDict(std::span<const std::byte> pickle,
                                             const std::string &where) {
  return Unpickler(pickle, where).run();
}

} // namespace seq::rt
