// NodePool: where the AST's expression and statement nodes, its calls'
// argument arrays and keywords (and the checker's bound-argument arrays)
// live, and how an expression is deleted.
// Each size (in steps of 8 bytes, up to 128) has its own blocks of 64 KiB
// and a list of the nodes freed, which the next node of that size reuses; larger nodes go to operator new. Blocks are never
// returned: an AST lives until the compiler is done with its file, and the
// next file reuses them. Under AddressSanitizer every node is its own
// allocation, so that a use after free is still found.
#include "ast/Ast.h"

#include <cstdint>
#include <mutex>
#include <new>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define SEQ_NODE_POOL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SEQ_NODE_POOL 0
#endif
#endif
#ifndef SEQ_NODE_POOL
#define SEQ_NODE_POOL 1
#endif

namespace seq::ast {

namespace {

constexpr size_t kStep = 8, kLargest = 128, kBlock = 64 * 1024;

struct FreeNode {
  FreeNode *next;
};

class NodePool {
public:
  void *allocate(size_t size) {
    size_t cls = (size + kStep - 1) / kStep;
    std::lock_guard<std::mutex> lock(mutex_);
    if (FreeNode *node = free_[cls]) {
      free_[cls] = node->next;
      return node;
    }
    size_t bytes = cls * kStep;
    if (kBlock - used_ < bytes) {
      blocks_.push_back(static_cast<char *>(::operator new(kBlock)));
      used_ = 0;
    }
    void *p = blocks_.back() + used_;
    used_ += bytes;
    return p;
  }
  void release(void *p, size_t size) {
    size_t cls = (size + kStep - 1) / kStep;
    std::lock_guard<std::mutex> lock(mutex_);
    free_[cls] = new (p) FreeNode{free_[cls]};
  }

private:
  std::mutex mutex_;
  std::vector<char *> blocks_;
  size_t used_ = kBlock;
  FreeNode *free_[kLargest / kStep + 1] = {};
};

NodePool &pool() {
  static NodePool *p = new NodePool; // never destroyed: nodes may outlive static destructors
  return *p;
}

} // namespace

void *PooledNode::operator new(size_t size) {
  if (!SEQ_NODE_POOL || size > kLargest)
    return ::operator new(size);
  return pool().allocate(size);
}

void PooledNode::operator delete(void *p, size_t size) noexcept {
  if (!p)
    return;
  if (!SEQ_NODE_POOL || size > kLargest)
    return ::operator delete(p, size);
  pool().release(p, size);
}

std::unique_ptr<NameExpr> NameExpr::make(SourceRange r, std::string_view name) {
  if (name.size() > UINT16_MAX)
    return std::unique_ptr<NameExpr>(new WideNameExpr(r, name));
  std::unique_ptr<NameExpr> e(new NameExpr(r, name.data()));
  e->small_ = uint16_t(name.size());
  return e;
}

std::unique_ptr<IntExpr> IntExpr::make(SourceRange r, int64_t value, bool tooLarge) {
  if (value < INT16_MIN || value > INT16_MAX)
    return std::unique_ptr<IntExpr>(new WideIntExpr(r, value, tooLarge));
  std::unique_ptr<IntExpr> e(new IntExpr(r, tooLarge));
  e->small_ = uint16_t(int16_t(value));
  return e;
}

namespace {

template <typename T> void destroy(Expr *e) {
  T *node = static_cast<T *>(e);
  node->~T();
  PooledNode::operator delete(node, sizeof(T));
}

} // namespace

// Expressions have no vtable: the node's kind (and, for an int or a name,
// whether it is the wide form) says what it is and how large.
void Expr::operator delete(Expr *e, std::destroying_delete_t) {
  switch (e->kind) {
  case ExprKind::Name:
    return e->flags_ & kWide ? destroy<WideNameExpr>(e) : destroy<NameExpr>(e);
  case ExprKind::Int:
    return e->flags_ & kWide ? destroy<WideIntExpr>(e) : destroy<IntExpr>(e);
  case ExprKind::Float: return destroy<FloatExpr>(e);
  case ExprKind::String: return destroy<StringExpr>(e);
  case ExprKind::Bool: return destroy<BoolExpr>(e);
  case ExprKind::None: return destroy<NoneExpr>(e);
  case ExprKind::Unary: return destroy<UnaryExpr>(e);
  case ExprKind::Binary: return destroy<BinaryExpr>(e);
  case ExprKind::Call: return destroy<CallExpr>(e);
  case ExprKind::Attribute: return destroy<AttributeExpr>(e);
  case ExprKind::Index: return destroy<IndexExpr>(e);
  case ExprKind::Slice: return destroy<SliceExpr>(e);
  case ExprKind::Ellipsis: return destroy<EllipsisExpr>(e);
  case ExprKind::Tuple: return destroy<TupleExpr>(e);
  case ExprKind::List: return destroy<ListExpr>(e);
  case ExprKind::Comprehension: return destroy<ComprehensionExpr>(e);
  case ExprKind::Compare: return destroy<CompareExpr>(e);
  case ExprKind::Not: return destroy<NotExpr>(e);
  case ExprKind::BoolOp: return destroy<BoolOpExpr>(e);
  case ExprKind::Ternary: return destroy<TernaryExpr>(e);
  case ExprKind::FString: return destroy<FStringExpr>(e);
  case ExprKind::Star: return destroy<StarExpr>(e);
  }
}

void Arg::setValue(ExprPtr value) {
  if (Keyword *k = keyword()) {
    k->value = std::move(value);
    return;
  }
  ExprPtr old(positional());
  ptr_ = value.release();
}

void Arg::setName(std::string_view name, SourceRange range) {
  if (Keyword *k = keyword()) {
    k->data = name.data();
    k->size = uint32_t(name.size());
    k->begin = range.begin;
    return;
  }
  auto *k = new Keyword{{}, ExprPtr(positional()), name.data(), uint32_t(name.size()), range.begin};
  ptr_ = reinterpret_cast<char *>(k) + 1;
}

void Arg::reset() {
  if (Keyword *k = keyword())
    delete k;
  else
    ExprPtr(positional()).reset(); // null-safe, unlike a destroying delete
  ptr_ = nullptr;
}

ArgList::ArgList(std::vector<Arg> &&args) {
  if (args.empty())
    return;
  size_t n = args.size(), header = n >= kLong ? sizeof(uint64_t) : 0;
  char *block = static_cast<char *>(PooledNode::operator new(header + sizeof(Arg) * n));
  Arg *data = reinterpret_cast<Arg *>(block + header);
  if (header)
    reinterpret_cast<uint64_t *>(data)[-1] = n;
  for (size_t i = 0; i < n; ++i)
    new (data + i) Arg(std::move(args[i]));
  ptr_ = reinterpret_cast<char *>(data) + (header ? kLong : n);
}

ArgList &ArgList::operator=(ArgList &&other) noexcept {
  if (this != &other) {
    clear();
    ptr_ = other.ptr_;
    other.ptr_ = nullptr;
  }
  return *this;
}

void ArgList::clear() {
  if (!ptr_)
    return;
  size_t n = size(), header = tagOf() == kLong ? sizeof(uint64_t) : 0;
  Arg *data = begin();
  for (size_t i = 0; i < n; ++i)
    data[i].~Arg();
  PooledNode::operator delete(reinterpret_cast<char *>(data) - header, header + sizeof(Arg) * n);
  ptr_ = nullptr;
}

} // namespace seq::ast
