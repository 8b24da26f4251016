#include "http_request.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace execmond {

namespace {

constexpr std::string_view crlf = "\r\n";
constexpr std::string_view end_of_head = "\r\n\r\n";

// RFC 9110 tchar.
bool is_tchar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// Visible ASCII, space, tab, or obs-text (bytes >= 0x80): no control bytes.
bool is_field_text(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char ch) {
        auto c = static_cast<unsigned char>(ch);
        return c == '\t' || (c >= 0x20 && c != 0x7f);
    });
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

} // namespace

int judge_request_head(std::string_view head) {
    std::vector<std::string_view> lines;
    for (size_t start = 0;;) {
        size_t end = head.find(crlf, start);
        lines.push_back(
            head.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos)
            break;
        start = end + crlf.size();
    }
    constexpr size_t max_headers = 64;
    if (lines.size() > max_headers + 1)
        return 400;

    // request-line = method SP request-target SP HTTP-version
    std::string_view request = lines[0];
    size_t sp1 = request.find(' ');
    size_t sp2 = sp1 == std::string_view::npos ? sp1 : request.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || request.find(' ', sp2 + 1) != std::string_view::npos)
        return 400;
    std::string_view method = request.substr(0, sp1);
    std::string_view target = request.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view version = request.substr(sp2 + 1);
    if (!is_token(method) || target.empty() || version.size() != 8)
        return 400;
    if (!std::all_of(target.begin(), target.end(), [](char c) { return c > 0x20 && c < 0x7f; }))
        return 400;
    if (version != "HTTP/1.1" && version != "HTTP/1.0")
        return 400;

    size_t hosts = 0;
    bool body = false;
    for (size_t i = 1; i < lines.size(); ++i) {
        std::string_view l = lines[i];
        if (l.empty() || l.front() == ' ' || l.front() == '\t') // obs-fold, or an empty line inside the head
            return 400;
        size_t colon = l.find(':');
        if (colon == std::string_view::npos || !is_token(l.substr(0, colon)) ||
            !is_field_text(l.substr(colon + 1)))
            return 400;
        std::string_view name = l.substr(0, colon);
        std::string_view value = trim(l.substr(colon + 1));
        if (equals_ignore_case(name, "host"))
            ++hosts;
        else if (equals_ignore_case(name, "transfer-encoding"))
            body = true;
        else if (equals_ignore_case(name, "content-length"))
            body = body || value != "0";
    }
    if (version == "HTTP/1.1" ? hosts != 1 : hosts > 1)
        return 400;
    if (method != "GET")
        return 405;
    if (body)
        return 400;
    return target == "/metrics" ? 200 : 404;
}

std::optional<int> HttpRequestReader::feed(std::string_view bytes) {
    size_t search_from = head_.size() >= 3 ? head_.size() - 3 : 0;
    // Never holds more than the limit and its terminator: after a nullopt the
    // head is at most max_head_bytes long.
    head_.append(bytes.substr(0, max_head_bytes + end_of_head.size() - head_.size()));
    size_t end = head_.find(end_of_head, search_from);
    if (end != std::string::npos)
        return end > max_head_bytes ? 400 : judge_request_head(std::string_view(head_).substr(0, end));
    if (head_.size() > max_head_bytes)
        return 400;
    // A NUL or other control byte (TLS, a binary protocol) can never become a
    // valid head: say so now instead of at the timeout.
    for (size_t i = search_from; i < head_.size(); ++i) {
        auto c = static_cast<unsigned char>(head_[i]);
        if (c < 0x20 && c != '\r' && c != '\n' && c != '\t')
            return 400;
    }
    return std::nullopt;
}

} // namespace execmond
