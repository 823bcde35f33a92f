// NodePool: where the AST's expression and statement nodes and its calls'
// argument arrays live. Each size (in steps of 8 bytes, up to 128) has its
// own blocks of 64 KiB and a list of the nodes freed, which the next node
// of that size reuses; larger nodes go to operator new. Blocks are never
// returned: an AST lives until the compiler is done with its file, and the
// next file reuses them. Under AddressSanitizer every node is its own
// allocation, so that a use after free is still found.
#include "ast/Ast.h"

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

ArgList::ArgList(std::vector<Arg> &&args) {
  if (args.empty())
    return;
  size_ = uint32_t(args.size());
  data_ = static_cast<Arg *>(PooledNode::operator new(sizeof(Arg) * size_));
  for (uint32_t i = 0; i < size_; ++i)
    new (data_ + i) Arg(std::move(args[i]));
}

ArgList &ArgList::operator=(ArgList &&other) noexcept {
  if (this != &other) {
    clear();
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

void ArgList::clear() {
  if (!data_)
    return;
  for (uint32_t i = 0; i < size_; ++i)
    data_[i].~Arg();
  PooledNode::operator delete(data_, sizeof(Arg) * size_);
  data_ = nullptr;
  size_ = 0;
}

} // namespace seq::ast
