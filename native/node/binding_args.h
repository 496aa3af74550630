// Argument guards and result conversions shared by the binding files (binding.cc,
// async_binding.cc, and the test build's test_exports.cc). The .node can be loaded without the
// TypeScript layer, so every export checks its arguments itself; one definition keeps the files'
// checks, and their messages, the same.
//
// It also generates the export of an ordinary core operation (WORKER_WAKER_OPERATIONS in
// native/core/waker_core.h) from the Waker method's signature: ArgOf<T> reads and checks one
// argument of the core's type T, ResultOf<R> converts what the method returns.
#pragma once

#include <napi.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "../core/waker_core.h"

namespace worker_waker {

// Number.MAX_SAFE_INTEGER: counts and ids that come from JS stay at or below it.
constexpr double kMaxSafeInteger = 9007199254740991.0;

[[noreturn]] inline void ThrowType(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}
[[noreturn]] inline void ThrowRange(Napi::Env env, const std::string& message) {
  throw Napi::RangeError::New(env, message);
}

// How a received value reads in a message: a number as itself, anything else by its kind.
inline std::string Describe(const Napi::Value& value) {
  switch (value.Type()) {
    case napi_number: {
      double d = value.As<Napi::Number>().DoubleValue();
      if (std::isnan(d)) return "NaN";
      if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
      std::string s = std::to_string(d);
      s.erase(s.find_last_not_of('0') + 1);
      if (!s.empty() && s.back() == '.') s.pop_back();
      return s;
    }
    case napi_bigint: return "a bigint";
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_string: return "a string";
    case napi_boolean: return "a boolean";
    case napi_symbol: return "a symbol";
    case napi_function: return "a function";
    default: return "an object";
  }
}

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

// The first argument as formatted state; throws a TypeError otherwise. State words whose header
// is wrong are state that something overwrote (lib/ checks the header when it attaches, and a
// WorkerWaker's caller passes no state argument): the message says so instead of naming an
// argument such a caller never passed.
inline Word* StateWordsArg(const Napi::CallbackInfo& info) {
  Word* words = StateWordsOf(info);
  if (words == nullptr) {
    ThrowType(info.Env(), "The \"state\" argument must be a BigUint64Array over worker-waker state");
  }
  if (!Waker::IsFormatted(words)) {
    ThrowType(info.Env(),
              "The waker's shared state is no longer valid worker-waker state: its header (word 0) "
              "was overwritten");
  }
  return words;
}

inline Waker StateArg(const Napi::CallbackInfo& info) { return Waker(StateWordsArg(info)); }

inline double NumberArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value value = info[i];
  if (!value.IsNumber()) {
    ThrowType(info.Env(), std::string("The \"") + name + "\" argument must be of type number. Received " +
                              Describe(value));
  }
  return value.As<Napi::Number>().DoubleValue();
}

// An integer in [0, max].
inline uint64_t IndexArg(const Napi::CallbackInfo& info, size_t i, const char* name, double max) {
  double d = NumberArg(info, i, name);
  if (!(d >= 0 && d <= max && std::floor(d) == d)) {
    ThrowRange(info.Env(), std::string("The value of \"") + name +
                               "\" is out of range. It must be an integer from 0 to " +
                               Describe(Napi::Number::New(info.Env(), max)) + ". Received " +
                               Describe(info[i]));
  }
  return static_cast<uint64_t>(d);
}

inline Word* WordsArg(const Napi::CallbackInfo& info, size_t i, const char* name, size_t* length) {
  Word* words = nullptr;
  if (!WordsOf(info[i], &words, length)) {
    ThrowType(info.Env(), std::string("The \"") + name + "\" argument must be a BigUint64Array");
  }
  return words;
}

inline Napi::Value BigUint(Napi::Env env, uint64_t v) { return Napi::BigInt::New(env, v); }
inline Napi::Value Num(Napi::Env env, uint64_t v) { return Napi::Number::New(env, static_cast<double>(v)); }

// ---- generated exports ------------------------------------------------------------------------

// Reads argument i (named `name` in messages) as the core's type T. A type without a
// specialization here does not compile: give its operation a hand-written export instead.
template <typename T>
struct ArgOf;

template <typename Tag, unsigned Max>
struct ArgOf<Index<Tag, Max>> {
  static Index<Tag, Max> Read(const Napi::CallbackInfo& info, size_t i, const char* name) {
    return static_cast<unsigned>(IndexArg(info, i, name, Max));
  }
};

template <>
struct ArgOf<SummaryMask> {
  static SummaryMask Read(const Napi::CallbackInfo& info, size_t i, const char* name) {
    Napi::Value value = info[i];
    if (!value.IsBigInt()) {
      ThrowType(info.Env(), std::string("The \"") + name + "\" argument must be of type bigint. Received " +
                                Describe(value));
    }
    bool lossless = false;
    uint64_t mask = value.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless || (mask >> SummaryMask::kBits) != 0) {
      ThrowRange(info.Env(), std::string("The value of \"") + name + "\" is out of range. It must be >= 0n and < 2n ** " +
                                 std::to_string(SummaryMask::kBits) + "n");
    }
    return mask;
  }
};

// Converts a result of the core to JS: bool to a boolean, a count to a Number (counts stay far
// below 2^53), IndexOrNone to a Number or undefined.
template <typename R>
struct ResultOf {
  static_assert(std::is_same_v<R, uint64_t> || std::is_same_v<R, uint32_t>,
                "an operation's result must be void, bool, a count or IndexOrNone");
  static Napi::Value To(Napi::Env env, R value) { return Num(env, value); }
};
template <>
struct ResultOf<bool> {
  static Napi::Value To(Napi::Env env, bool value) { return Napi::Boolean::New(env, value); }
};
template <>
struct ResultOf<IndexOrNone> {
  static Napi::Value To(Napi::Env env, IndexOrNone value) {
    return value ? Napi::Number::New(env, *value) : env.Undefined();
  }
};
// A 64-bit word of the state (a status or summary bitmap) as a bigint: for the test build's reads,
// whose result is a uint64_t that is not a count.
struct AsBigUint {
  static Napi::Value To(Napi::Env env, uint64_t value) { return BigUint(env, value); }
};

template <typename Method>
struct OperationOf;
template <typename R, typename... A>
struct OperationOf<R (Waker::*)(A...)> {
  using Result = R;
  static constexpr size_t kArity = sizeof...(A);
  using Args = std::tuple<std::decay_t<A>...>;
};
template <typename R, typename... A>
struct OperationOf<R (Waker::*)(A...) const> : OperationOf<R (Waker::*)(A...)> {};

// The export of Waker method `Method`: checks the state, then reads the arguments in order (a
// braced list evaluates left to right, so the first bad argument is the one reported), calls
// the method and converts its result (`Convert` overrides ResultOf).
template <auto Method, typename Convert = void, size_t N, size_t... I>
Napi::Value CallOperation(const Napi::CallbackInfo& info, const std::array<const char*, N>& names,
                          std::index_sequence<I...>) {
  using Op = OperationOf<decltype(Method)>;
  Waker waker = StateArg(info);
  typename Op::Args args{ArgOf<std::tuple_element_t<I, typename Op::Args>>::Read(info, I + 1, names[I])...};
  if constexpr (std::is_void_v<typename Op::Result>) {
    std::apply([&](auto... a) { (waker.*Method)(a...); }, args);
    return info.Env().Undefined();
  } else {
    auto result = std::apply([&](auto... a) { return (waker.*Method)(a...); }, args);
    if constexpr (std::is_void_v<Convert>) {
      return ResultOf<typename Op::Result>::To(info.Env(), result);
    } else {
      return Convert::To(info.Env(), result);
    }
  }
}

template <auto Method, typename Convert = void, size_t N>
Napi::Value CallOperation(const Napi::CallbackInfo& info, const std::array<const char*, N>& names) {
  static_assert(N == OperationOf<decltype(Method)>::kArity,
                "name every argument of the operation after the state, and nothing else");
  return CallOperation<Method, Convert>(info, names, std::make_index_sequence<N>());
}

template <typename... Names>
constexpr std::array<const char*, sizeof...(Names)> ArgumentNames(Names... names) {
  return {names...};
}

struct Export {
  const char* name;
  Napi::Function::Callback callback;
};

// One generated export: WW_OPERATION(markActive, MarkActive, ("index")). A captureless lambda, so
// it converts to the plain callback that Napi::Function::New takes.
#define WW_OPERATION(jsName, method, names)                                              \
  Export{#jsName, [](const Napi::CallbackInfo& info) -> Napi::Value {                    \
           static constexpr auto kNames = ArgumentNames names;                           \
           return CallOperation<&Waker::method>(info, kNames);                           \
         }},
// The same with a result conversion of its own (AsBigUint).
#define WW_OPERATION_AS(jsName, method, names, Convert)                                  \
  Export{#jsName, [](const Napi::CallbackInfo& info) -> Napi::Value {                    \
           static constexpr auto kNames = ArgumentNames names;                           \
           return CallOperation<&Waker::method, Convert>(info, kNames);                  \
         }},

template <size_t N>
void SetFunctions(Napi::Env env, Napi::Object exports, const Export (&entries)[N]) {
  for (const Export& entry : entries) {
    exports.Set(entry.name, Napi::Function::New(env, entry.callback, entry.name));
  }
}

// The test build's extra exports (native/node/test_exports.cc, linked into worker_waker_test
// only) register this hook while the library loads, before Node calls the module's init; the
// release binary has no such source, so the hook stays empty there. The binding's objects are
// thus the same in both builds (test/package.test.js compares them).
using ExportsHook = void (*)(Napi::Env env, Napi::Object exports);
void SetExtraExports(ExportsHook hook);

}  // namespace worker_waker
