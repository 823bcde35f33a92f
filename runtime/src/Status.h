// Status.h: how the runtime reports failure. Inside, a failing operation
// throws seq::rt::Error; at the C boundary, `guarded` turns every exception
// into a status and the thread's last error message.
#pragma once

#include "seqrt.h"

#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <utility>

namespace seq::rt {

// A failure with the status the C API returns, a message for
// seqrt_last_error() and, where it concerns one tensor, that tensor's name.
class Error : public std::exception {
public:
  Error(seqrt_status status, std::string message, std::string tensor = {})
      : status_(status), message_(std::move(message)),
        tensor_(std::move(tensor)) {}

  seqrt_status status() const { return status_; }
  const std::string &message() const { return message_; }
  const std::string &tensor() const { return tensor_; }
  const char *what() const noexcept override { return message_.c_str(); }

private:
  seqrt_status status_;
  std::string message_;
  std::string tensor_;
};

void setLastError(std::string_view message) noexcept;
void clearLastError() noexcept;

// Runs `body` (which returns a seqrt_status) at the C boundary: sets or
// clears the last error and lets no exception escape.
template <class Body> seqrt_status guarded(Body &&body) noexcept {
  try {
    seqrt_status status = body();
    if (status == SEQRT_OK)
      clearLastError();
    return status;
  } catch (const Error &error) {
    setLastError(error.message());
    return error.status();
  } catch (const std::bad_alloc &) {
    setLastError("out of memory");
    return SEQRT_ERR_OUT_OF_MEMORY;
  } catch (const std::exception &error) {
    setLastError(std::string("internal error: ") + error.what());
    return SEQRT_ERR_INTERNAL;
  } catch (...) {
    setLastError("internal error: unknown exception");
    return SEQRT_ERR_INTERNAL;
  }
}

// Throws ARGUMENT when `pointer` is NULL.
inline void requireArgument(const void *pointer, const char *name) {
  if (pointer == nullptr)
    throw Error(SEQRT_ERR_ARGUMENT,
                std::string("argument '") + name + "' is NULL");
}

} // namespace seq::rt
