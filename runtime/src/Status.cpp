// Status.cpp: status descriptions and the thread-local last error message.
#include "Status.h"

namespace seq::rt {
namespace {

thread_local std::string lastErrorText;
// What seqrt_last_error() returns: lastErrorText, or a static fallback when
// the message itself could not be stored.
thread_local const char *lastError = "";

} // namespace

void setLastError(std::string_view message) noexcept {
  try {
    lastErrorText.assign(message);
    lastError = lastErrorText.c_str();
  } catch (...) {
    lastError = "out of memory (while recording an error)";
  }
}

void clearLastError() noexcept {
  lastErrorText.clear();
  lastError = "";
}

} // namespace seq::rt

extern "C" const char *seqrt_status_string(seqrt_status status) {
  switch (status) {
  case SEQRT_OK:
    return "success";
  case SEQRT_ERR_ARGUMENT:
    return "invalid argument";
  case SEQRT_ERR_IO:
    return "input/output error";
  case SEQRT_ERR_FORMAT:
    return "malformed safetensors file";
  case SEQRT_ERR_MISSING_TENSOR:
    return "missing tensor";
  case SEQRT_ERR_SHAPE:
    return "wrong tensor shape";
  case SEQRT_ERR_DTYPE:
    return "unsupported tensor dtype";
  case SEQRT_ERR_OUT_OF_MEMORY:
    return "out of memory";
  case SEQRT_ERR_BATCH:
    return "invalid batch size";
  case SEQRT_ERR_WORKSPACE:
    return "workspace too small";
  case SEQRT_ERR_INTERNAL:
    return "internal error";
  case SEQRT_ERR_WEIGHTS:
    return "weights of another model";
  case SEQRT_ERR_ABI:
    return "model compiled for another runtime ABI version";
  }
  return "unknown status";
}

extern "C" const char *seqrt_last_error(void) { return seq::rt::lastError; }
