// Writes one compact JSON line into a reused buffer: the same bytes
// nlohmann's ordered_json::dump(-1) emits for the same document (checked
// against it in tests/unit/json_writer_test.cpp), with strings validated and
// escaped in one pass and numbers written with to_chars. Member names are
// serialized once by nlohmann (JsonKey), as are strings that are not UTF-8.
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
#include <cstring>
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
    std::string_view str() const { return {buf_.data(), len_}; }
    size_t size() const { return len_; }

    void begin_object() { open('{'); }
    void end_object() { close('}'); }
    void begin_array() { open('['); }
    void end_array() { close(']'); }
    void key(const JsonKey& k) {
        separate();
        put(k.bytes());
        after_key_ = true;
    }

    // A member name known only at run time, written as text() writes it.
    void key_text(std::string_view name) {
        text(name);
        put(':');
        after_key_ = true;
    }

    void value(uint64_t v);
    void value(uint32_t v) { value(static_cast<uint64_t>(v)); }
    void value(bool v) {
        separate();
        put(v ? std::string_view("true") : std::string_view("false"));
    }
    void null() {
        separate();
        put("null");
    }
    // A string that is valid UTF-8 (invalid bytes would become U+FFFD).
    void string(std::string_view s);
    // Kernel bytes: invalid UTF-8 escaped as \xNN first (text.hpp); returns
    // whether anything had to be escaped.
    bool text(std::string_view bytes);
    // A complete value this writer produced earlier (a cached fragment of a
    // previous document), spliced in as an element or member value.
    void raw(std::string_view fragment) {
        separate();
        put(fragment);
    }
    // A run of members ("a":1,"b":2) this writer produced earlier, spliced
    // in where the next member would go. Nothing for an empty run.
    void members(std::string_view run) {
        if (!run.empty())
            raw(run);
    }
    // What was written since size() was `from`, without the comma that
    // separated it from what came before: a value or run of members to keep.
    std::string_view since(size_t from) const {
        std::string_view s = str().substr(from);
        if (!s.empty() && s.front() == ',')
            s.remove_prefix(1);
        return s;
    }

private:
    using json = nlohmann::ordered_json;

    // Writes go straight into buf_, which only ever grows; len_ is the document.
    char* room(size_t n) {
        if (buf_.size() - len_ < n)
            grow(n);
        return buf_.data() + len_;
    }
    void grow(size_t n);
    void put(char c) {
        *room(1) = c;
        ++len_;
    }
    void put(std::string_view s) {
        std::memcpy(room(s.size()), s.data(), s.size());
        len_ += s.size();
    }
    // A comma before every element but the first of its container.
    void separate() {
        if (after_key_)
            after_key_ = false;
        else if (!first_[depth_])
            put(',');
        first_[depth_] = false;
    }
    void open(char c) {
        separate();
        put(c);
        first_[++depth_] = true;
    }
    void close(char c) {
        --depth_;
        put(c);
    }
    // The inside of a JSON string, if `s` is UTF-8; else false and nothing written.
    bool escaped_utf8(std::string_view s);

    std::string buf_;
    size_t len_ = 0;
    std::string scratch_; // text(): the \\xNN form of a string that is not UTF-8
    std::string fallback_;
    // Is the next element the first of its container? One flag per depth.
    std::array<bool, 16> first_{};
    size_t depth_ = 0;
    bool after_key_ = false;
};

} // namespace execmond
