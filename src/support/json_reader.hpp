#pragma once
// Reads a JSON object field by field and collects every problem instead of stopping at
// the first, so a client learns all that is wrong with a body in one round trip. The
// messages and type codes are those of FastAPI (pydantic), so the 422 bodies match the
// Python service's.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pangeo_forge/error.hpp"

namespace pangeo_forge::detail {

using Loc = std::vector<std::string>;

// What is wrong with one value, before it knows where it sits.
struct Problem {
    std::string msg;
    std::string type;
    nlohmann::json ctx;
};

// Decoder<T>::decode(json) turns a JSON value into a T, or says what is wrong with it.
// Specialised for each field type; the model adds its enums and timestamps.
template <class T>
struct Decoder;

template <class T>
struct DecodeResult {
    std::optional<T> value;
    std::optional<Problem> problem;
};

template <>
struct Decoder<std::string> {
    static DecodeResult<std::string> decode(const nlohmann::json& in) {
        if (!in.is_string()) return {std::nullopt, Problem{"str type expected", "type_error.str", {}}};
        return {in.get<std::string>(), std::nullopt};
    }
};

template <>
struct Decoder<std::int64_t> {
    static DecodeResult<std::int64_t> decode(const nlohmann::json& in) {
        if (!in.is_number_integer()) {
            return {std::nullopt, Problem{"value is not a valid integer", "type_error.integer", {}}};
        }
        // JSON keeps integers up to 2^64 - 1: one beyond a signed 64-bit value must not wrap.
        if (in.is_number_unsigned() && in.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
            return {std::nullopt, Problem{"ensure this value is less than or equal to 9223372036854775807",
                                          "value_error.number.not_le", {{"limit_value", INT64_MAX}}}};
        }
        return {in.get<std::int64_t>(), std::nullopt};
    }
};

template <>
struct Decoder<int> {
    static DecodeResult<int> decode(const nlohmann::json& in) {
        auto wide = Decoder<std::int64_t>::decode(in);
        if (wide.problem) return {std::nullopt, wide.problem};
        return {static_cast<int>(*wide.value), std::nullopt};
    }
};

template <>
struct Decoder<bool> {
    static DecodeResult<bool> decode(const nlohmann::json& in) {
        if (!in.is_boolean()) {
            return {std::nullopt, Problem{"value could not be parsed to a boolean", "type_error.bool", {}}};
        }
        return {in.get<bool>(), std::nullopt};
    }
};

template <>
struct Decoder<std::vector<std::string>> {
    static DecodeResult<std::vector<std::string>> decode(const nlohmann::json& in) {
        if (!in.is_array()) return {std::nullopt, Problem{"value is not a valid list", "type_error.list", {}}};
        std::vector<std::string> out;
        for (const auto& item : in) {
            if (!item.is_string()) return {std::nullopt, Problem{"str type expected", "type_error.str", {}}};
            out.push_back(item.get<std::string>());
        }
        return {out, std::nullopt};
    }
};

// Collects FieldErrors from any number of readers; throws them together.
class ErrorList {
public:
    void add(Loc loc, Problem problem) {
        errors_.push_back(FieldError{std::move(loc), std::move(problem.msg), std::move(problem.type),
                                     std::move(problem.ctx)});
    }
    void add(FieldError error) { errors_.push_back(std::move(error)); }
    bool empty() const { return errors_.empty(); }
    void throw_if_any() const {
        if (!errors_.empty()) throw ValidationError(errors_);
    }

private:
    std::vector<FieldError> errors_;
};

inline Loc child_loc(const Loc& parent, std::string_view name) {
    Loc loc = parent;
    loc.emplace_back(name);
    return loc;
}

// One JSON object. Each read marks its field as known; reject_unknown_fields() then
// reports whatever else the object held.
class ObjectReader {
public:
    ObjectReader(const nlohmann::json& object, Loc loc, ErrorList& errors)
        : object_(object), loc_(std::move(loc)), errors_(errors) {
        if (!object_.is_object()) {
            errors_.add(loc_, Problem{"value is not a valid dict", "type_error.dict", {}});
        }
    }

    bool is_object() const { return object_.is_object(); }

    // A field that must be present and not null.
    template <class T>
    std::optional<T> required(std::string_view name) {
        const nlohmann::json* value = find(name);
        if (value == nullptr) {
            if (is_object()) errors_.add(child_loc(loc_, name), Problem{"field required", "value_error.missing", {}});
            return std::nullopt;
        }
        return decode_not_null<T>(name, *value);
    }

    // A field that may be left out (then `fallback`), but not sent as null.
    template <class T>
    T with_default(std::string_view name, T fallback) {
        const nlohmann::json* value = find(name);
        if (value == nullptr) return fallback;
        return decode_not_null<T>(name, *value).value_or(fallback);
    }

    // A nullable field: absent and null both mean "no value".
    template <class T>
    std::optional<T> nullable(std::string_view name) {
        const nlohmann::json* value = find(name);
        if (value == nullptr || value->is_null()) return std::nullopt;
        return decode_value<T>(name, *value);
    }

    // An update form's field for a NOT NULL column: absent means "not sent".
    template <class T>
    std::optional<T> sent(std::string_view name) {
        const nlohmann::json* value = find(name);
        if (value == nullptr) return std::nullopt;
        return decode_not_null<T>(name, *value);
    }

    // An update form's field for a nullable column: absent means "not sent",
    // null means "set to null".
    template <class T>
    std::optional<std::optional<T>> sent_nullable(std::string_view name) {
        const nlohmann::json* value = find(name);
        if (value == nullptr) return std::nullopt;
        if (value->is_null()) return std::optional<T>{};
        auto decoded = decode_value<T>(name, *value);
        if (!decoded) return std::nullopt;
        return decoded;
    }

    // Reports a field that the client may not send, with a message saying why.
    void forbid(std::string_view name, std::string why) {
        if (find(name) != nullptr) {
            errors_.add(child_loc(loc_, name), Problem{"extra fields not permitted; " + why, "value_error.extra", {}});
        }
    }

    void reject_unknown_fields() {
        if (!is_object()) return;
        for (const auto& item : object_.items()) {
            if (known_.count(item.key()) == 0) {
                errors_.add(child_loc(loc_, item.key()), Problem{"extra fields not permitted", "value_error.extra", {}});
            }
        }
    }

    // A required nested object, read by `read(ObjectReader&)`; its unknown keys are errors too.
    template <class Read>
    auto object(std::string_view name, Read read) -> std::optional<decltype(read(std::declval<ObjectReader&>()))> {
        const nlohmann::json* value = find(name);
        if (value == nullptr) {
            if (is_object()) errors_.add(child_loc(loc_, name), Problem{"field required", "value_error.missing", {}});
            return std::nullopt;
        }
        ObjectReader reader(*value, child_loc(loc_, name), errors_);
        if (!reader.is_object()) return std::nullopt;
        auto result = read(reader);
        reader.reject_unknown_fields();
        return result;
    }

    const Loc& loc() const { return loc_; }
    ErrorList& errors() { return errors_; }

    // The raw value of a field (marked known), for nested objects and lists.
    const nlohmann::json* find(std::string_view name) {
        if (!is_object()) return nullptr;
        known_.emplace(name);
        auto it = object_.find(std::string(name));
        return it == object_.end() ? nullptr : &*it;
    }

    template <class T>
    std::optional<T> decode_value(std::string_view name, const nlohmann::json& value) {
        auto result = Decoder<T>::decode(value);
        if (result.problem) errors_.add(child_loc(loc_, name), std::move(*result.problem));
        return result.value;
    }

private:
    template <class T>
    std::optional<T> decode_not_null(std::string_view name, const nlohmann::json& value) {
        if (value.is_null()) {
            errors_.add(child_loc(loc_, name), Problem{"none is not an allowed value", "type_error.none.not_allowed", {}});
            return std::nullopt;
        }
        return decode_value<T>(name, value);
    }

    const nlohmann::json& object_;
    Loc loc_;
    ErrorList& errors_;
    std::set<std::string, std::less<>> known_;
};

}  // namespace pangeo_forge::detail
