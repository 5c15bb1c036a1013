// Result<T>: a value or an Error. Every expected failure in airlock travels as one of these;
// exceptions never cross a library boundary.
#pragma once

#include <cstdlib>
#include <cstdio>
#include <type_traits>
#include <utility>
#include <variant>

#include "core/error.h"

namespace airlock {

template <typename T>
class [[nodiscard]] Result {
 public:
  using value_type = T;

  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  // Allow `return other_kind_of_value;` when T is constructible from it (e.g. string from char*).
  template <typename U>
    requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, T> &&
             !std::is_same_v<std::decay_t<U>, Error> && !std::is_same_v<std::decay_t<U>, Result>)
  Result(U&& value) : state_(std::in_place_index<0>, T(std::forward<U>(value))) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { check_ok(); return std::get<0>(state_); }
  const T& value() const& { check_ok(); return std::get<0>(state_); }
  T&& value() && { check_ok(); return std::get<0>(std::move(state_)); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { check_error(); return std::get<1>(state_); }
  Error&& error() && { check_error(); return std::get<1>(std::move(state_)); }

  T value_or(T fallback) const& { return ok() ? std::get<0>(state_) : std::move(fallback); }

 private:
  void check_ok() const {
    if (!ok()) {
      std::fprintf(stderr, "airlock: Result::value() on an error: %s\n", std::get<1>(state_).message().c_str());
      std::abort();
    }
  }
  void check_error() const {
    if (ok()) {
      std::fprintf(stderr, "airlock: Result::error() on a value\n");
      std::abort();
    }
  }

  std::variant<T, Error> state_;
};

// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  using value_type = void;

  Result() = default;
  Result(Error error) : error_(std::move(error)), has_error_(true) {}  // NOLINT: implicit by design

  bool ok() const { return !has_error_; }
  explicit operator bool() const { return ok(); }

  const Error& error() const& { check_error(); return error_; }
  Error&& error() && { check_error(); return std::move(error_); }

 private:
  void check_error() const {
    if (!has_error_) {
      std::fprintf(stderr, "airlock: Result::error() on success\n");
      std::abort();
    }
  }

  Error error_{ErrorCode::kInternal, ""};
  bool has_error_ = false;
};

using Status = Result<void>;

inline Status ok_status() { return Status(); }

}  // namespace airlock

#define AIRLOCK_CONCAT_INNER(a, b) a##b
#define AIRLOCK_CONCAT(a, b) AIRLOCK_CONCAT_INNER(a, b)

// Returns the error of `expr` (a Status or Result) from the enclosing function.
#define AIRLOCK_TRY(expr)                                   \
  do {                                                      \
    auto&& airlock_try_result_ = (expr);                    \
    if (!airlock_try_result_.ok()) {                        \
      return std::move(airlock_try_result_).error();        \
    }                                                       \
  } while (false)

// `AIRLOCK_ASSIGN_OR_RETURN(auto x, make_x());` declares x from the value or returns the error.
#define AIRLOCK_ASSIGN_OR_RETURN(lhs, expr) \
  AIRLOCK_ASSIGN_OR_RETURN_IMPL(AIRLOCK_CONCAT(airlock_result_, __LINE__), lhs, expr)

#define AIRLOCK_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) {                                    \
    return std::move(tmp).error();                    \
  }                                                   \
  lhs = std::move(tmp).value()
