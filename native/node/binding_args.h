// Argument guards shared by the two binding files (binding.cc, async_binding.cc). The .node can
// be loaded without the TypeScript layer, so every export checks its state argument itself;
// one definition keeps the two files' checks the same.
#pragma once

#include <napi.h>

#include <cstddef>

#include "../core/waker_core.h"

namespace worker_waker {

// Number.MAX_SAFE_INTEGER: counts and ids that come from JS stay at or below it.
constexpr double kMaxSafeInteger = 9007199254740991.0;

// Reads a BigUint64Array argument; false when it is not one. An empty (or detached) array gives
// length 0 and possibly a null pointer: callers check the length before touching a word.
inline bool WordsOf(const Napi::Value& value, Word** words, size_t* length) {
  napi_typedarray_type type;
  void* data = nullptr;
  // One call does the whole check: it fails (napi_invalid_arg) for anything but a typed array,
  // and it gives the data pointer also for SharedArrayBuffer-backed arrays (Node 20's
  // napi_get_arraybuffer_info rejects those). Every export pays for this, so keep it to one.
  if (napi_get_typedarray_info(value.Env(), value, &type, length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_biguint64_array) {
    return false;
  }
  *words = static_cast<Word*>(data);
  return true;
}

// The first argument as state words (at least kStateWords of them, formatted or not), or nullptr.
inline Word* StateWordsOf(const Napi::CallbackInfo& info) {
  Word* words = nullptr;
  size_t length = 0;
  if (info.Length() == 0 || !WordsOf(info[0], &words, &length) || length < kStateWords) return nullptr;
  return words;
}

// The first argument as formatted state; throws a TypeError otherwise.
inline Word* StateWordsArg(const Napi::CallbackInfo& info) {
  Word* words = StateWordsOf(info);
  if (words == nullptr || !Waker::IsFormatted(words)) {
    throw Napi::TypeError::New(info.Env(),
                               "The \"state\" argument must be a BigUint64Array over worker-waker state");
  }
  return words;
}

}  // namespace worker_waker
