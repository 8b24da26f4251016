// Writes one compact JSON line into a reused buffer, with nlohmann/json's
// serializer producing the bytes of every key and value (escaping, UTF-8
// handling, number formatting). This class only joins them with the JSON
// punctuation ({ } [ ] , :), the same bytes ordered_json::dump(-1) emits.
//
// Why not build an ordered_json and dump it: on the exec storm that costs
// ~9 us per line here, mostly allocations (one per string value, per object,
// per array element); this writer allocates nothing once its buffers have
// grown, and fragments it produced (an ancestor entry) can be cached and
// spliced into later lines.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace execmond {

// A member name, serialized once: "name":
class JsonKey {
public:
    explicit JsonKey(std::string_view name);
    std::string_view bytes() const { return bytes_; }

private:
    std::string bytes_;
};

class JsonWriter {
public:
    JsonWriter();
    JsonWriter(const JsonWriter&) = delete;
    JsonWriter& operator=(const JsonWriter&) = delete;

    // Starts a new document (the buffer keeps its capacity).
    void clear();
    const std::string& str() const { return buf_; }
    size_t size() const { return buf_.size(); }

    void begin_object();
    void end_object();
    void begin_array();
    void end_array();
    void key(const JsonKey& k);

    void value(uint64_t v);
    void value(uint32_t v) { value(static_cast<uint64_t>(v)); }
    void value(bool v);
    void null();
    // A string that is valid UTF-8 (invalid bytes would become U+FFFD).
    void string(std::string_view s);
    // Kernel bytes: invalid UTF-8 escaped as \xNN first (text.hpp); returns
    // whether anything had to be escaped.
    bool text(std::string_view bytes);
    // A complete value this writer produced earlier (a cached fragment of a
    // previous document), spliced in as an element or member value.
    void raw(std::string_view fragment);

private:
    using json = nlohmann::ordered_json;
    void separate(); // a comma before every element but the first

    std::string buf_;
    nlohmann::detail::serializer<json> serializer_;
    json string_value_;
    json unsigned_value_;
    // Is the next element the first of its container? One flag per depth.
    std::array<bool, 16> first_{};
    size_t depth_ = 0;
    bool after_key_ = false;
};

} // namespace execmond
