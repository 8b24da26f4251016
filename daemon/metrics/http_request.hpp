// A strict reader of one HTTP/1.x request head, for the metrics endpoint: it
// serves GET /metrics and nothing else, so anything unusual is refused rather
// than interpreted. The verdict is a status code:
//   200  GET /metrics, well formed
//   400  malformed (request line, header syntax, control bytes, bare LF, no
//        Host in HTTP/1.1, a body on GET, a head over max_head_bytes)
//   405  well formed, method not GET
//   404  well formed GET, another target (query strings included)
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace execmond {

int judge_request_head(std::string_view head); // the head without its final CRLF CRLF

class HttpRequestReader {
public:
    static constexpr size_t max_head_bytes = 8192;
    // Bytes as they arrive; the verdict once the head is complete or cannot
    // become valid, nullopt while more is needed.
    std::optional<int> feed(std::string_view bytes);

private:
    std::string head_;
};

} // namespace execmond
