// A line as it is queued to clients and kept for replay: encoded once, shared
// by all, its bytes and reference count in one allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace execmond {

// The shared text: a length, then the bytes right after it.
class LineText {
public:
    explicit LineText(size_t size) : size_(size) {}
    LineText(const LineText&) = delete;
    LineText& operator=(const LineText&) = delete;

    const char* data() const { return reinterpret_cast<const char*>(this + 1); }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    std::string_view view() const { return {data(), size_}; }
    operator std::string_view() const { return view(); }
    std::string str() const { return std::string(view()); }

private:
    uint64_t size_;
};
static_assert(sizeof(LineText) == sizeof(uint64_t));

using Line = std::shared_ptr<const LineText>;

// `text` then `tail` as one line. One allocation: std::string plus
// make_shared took two per line, and the exec storm makes 45,000 lines a
// second.
inline Line share(std::string_view text, std::string_view tail = {}) {
    size_t n = text.size() + tail.size();
    auto block =
        std::make_shared_for_overwrite<uint64_t[]>(1 + (n + sizeof(uint64_t) - 1) / sizeof(uint64_t));
    auto* line = ::new (static_cast<void*>(block.get())) LineText(n);
    char* bytes = reinterpret_cast<char*>(block.get() + 1);
    if (!text.empty())
        std::memcpy(bytes, text.data(), text.size());
    if (!tail.empty())
        std::memcpy(bytes + text.size(), tail.data(), tail.size());
    return Line(std::move(block), line);
}

} // namespace execmond
