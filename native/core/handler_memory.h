// Memory for the handlers of long-lived asynchronous operations (an idle connection's read wait,
// its heartbeat timer).
//
// Without an associated allocator, Asio 1.18 allocates every operation through a per-thread cache
// of one block and hands the cached block to the next operation of any kind that fits in it. The
// block an HTTP read leaves behind is ~450 bytes; the read wait an idle connection starts right
// after its upgrade would keep that block for as long as the connection stays idle (measured:
// ~350 bytes per idle connection). exact_memory() gives such a handler an allocator of its own, so
// its operation takes exactly its size and the cache is left to short-lived operations.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace collabio::core {

// std::allocator's behaviour under another type: Asio treats std::allocator as "use the cache".
template <class T>
struct ExactAllocator {
  using value_type = T;
  ExactAllocator() noexcept = default;
  template <class U>
  ExactAllocator(const ExactAllocator<U>&) noexcept {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
  void deallocate(T* p, size_t) noexcept { ::operator delete(p); }
  template <class U>
  bool operator==(const ExactAllocator<U>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const ExactAllocator<U>&) const noexcept {
    return false;
  }
};

// A completion handler with ExactAllocator as its associated allocator.
template <class Handler>
class ExactMemoryHandler {
 public:
  using allocator_type = ExactAllocator<void>;

  explicit ExactMemoryHandler(Handler h) : h_(std::move(h)) {}
  allocator_type get_allocator() const noexcept { return {}; }

  template <class... Args>
  void operator()(Args&&... args) {
    h_(std::forward<Args>(args)...);
  }

 private:
  Handler h_;
};

template <class Handler>
ExactMemoryHandler<std::decay_t<Handler>> exact_memory(Handler&& h) {
  return ExactMemoryHandler<std::decay_t<Handler>>(std::forward<Handler>(h));
}

}  // namespace collabio::core
