#include "json_writer.hpp"

#include "text.hpp"

namespace execmond {

namespace {

using json = nlohmann::ordered_json;
constexpr auto replace = json::error_handler_t::replace;

} // namespace

JsonKey::JsonKey(std::string_view name)
    : bytes_(json(std::string(name)).dump(-1, ' ', false, replace) + ":") {}

JsonWriter::JsonWriter()
    : serializer_(nlohmann::detail::output_adapter<char, std::string>(buf_), ' ', replace),
      string_value_(json::string_t()), unsigned_value_(json::number_unsigned_t(0)) {
    buf_.reserve(4096);
}

void JsonWriter::clear() {
    buf_.clear();
    depth_ = 0;
    first_[0] = true;
    after_key_ = false;
}

void JsonWriter::separate() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (!first_[depth_])
        buf_.push_back(',');
    first_[depth_] = false;
}

void JsonWriter::begin_object() {
    separate();
    buf_.push_back('{');
    first_[++depth_] = true;
}

void JsonWriter::end_object() {
    --depth_;
    buf_.push_back('}');
}

void JsonWriter::begin_array() {
    separate();
    buf_.push_back('[');
    first_[++depth_] = true;
}

void JsonWriter::end_array() {
    --depth_;
    buf_.push_back(']');
}

void JsonWriter::key(const JsonKey& k) {
    separate();
    buf_.append(k.bytes());
    after_key_ = true;
}

void JsonWriter::value(uint64_t v) {
    separate();
    unsigned_value_.get_ref<json::number_unsigned_t&>() = v;
    serializer_.dump(unsigned_value_, false, false, 0);
}

void JsonWriter::value(bool v) {
    separate();
    serializer_.dump(json(v), false, false, 0);
}

void JsonWriter::null() {
    separate();
    serializer_.dump(json(nullptr), false, false, 0);
}

void JsonWriter::string(std::string_view s) {
    separate();
    string_value_.get_ref<json::string_t&>().assign(s);
    serializer_.dump(string_value_, false, false, 0);
}

bool JsonWriter::text(std::string_view bytes) {
    separate();
    auto& s = string_value_.get_ref<json::string_t&>();
    s.clear();
    bool escaped = append_json_text(s, bytes);
    serializer_.dump(string_value_, false, false, 0);
    return escaped;
}

void JsonWriter::raw(std::string_view fragment) {
    separate();
    buf_.append(fragment);
}

} // namespace execmond
