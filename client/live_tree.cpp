#include "live_tree.hpp"

#include "kernel_text.hpp"
#include "shell_quote.hpp"

namespace execmon {

namespace {

constexpr size_t max_printed = 1u << 16;

std::string base_name(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string text_member(const json& j, const char* name) {
    auto m = j.find(name);
    if (m == j.end())
        return "";
    return m->is_string() ? m->get<std::string>() : m->dump();
}

} // namespace

std::string LiveTree::indent(size_t depth) const {
    if (depth <= max_indent_levels)
        return std::string(depth * indent_columns, ' ');
    return std::string(max_indent_levels * indent_columns, ' ') + "[" + std::to_string(depth) + "] ";
}

std::string LiveTree::blank_columns() const {
    return std::string(EventFormatter::time_columns + 1 + EventFormatter::user_columns + 1, ' ');
}

StyledLine LiveTree::heading(const Node& n, size_t depth, bool reference) const {
    StyledLine l;
    l.add_head(blank_columns() + indent(depth));
    if (reference)
        l.add_head("\u2026 ", Tone::dim);
    l.add_head(n.pid, reference ? Tone::dim : Tone::pid);
    l.add_body(" " + n.comm, reference ? Tone::dim : Tone::strong);
    // comm is at most 15 bytes: the path says which program when it differs.
    std::string base = base_name(n.filename);
    if (!reference && !n.filename.empty() && base.compare(0, n.comm.size(), n.comm) != 0)
        l.add_tail("  " + n.filename, Tone::dim);
    return l;
}

void LiveTree::bound_memory() {
    if (printed_.size() < max_printed)
        return;
    // Forget everything but the current branch; what comes back is printed again.
    std::unordered_map<std::string, size_t> keep;
    for (const auto& k : context_)
        if (auto it = printed_.find(k); it != printed_.end())
            keep.insert(*it);
    printed_.swap(keep);
}

std::vector<StyledLine> LiveTree::exec(const json& line) {
    std::vector<StyledLine> out;
    bound_memory();
    // The chain, root first.
    std::vector<Node> chain;
    if (auto a = line.find("ancestors"); a != line.end() && a->is_array()) {
        for (auto it = a->rbegin(); it != a->rend(); ++it) {
            if (!it->is_object())
                continue;
            chain.push_back({text_member(*it, "key"), text_member(*it, "pid"),
                             printable(text_member(*it, "comm")), printable(text_member(*it, "filename"))});
            if (chain.back().key.empty()) // no key: the pid must do
                chain.back().key = "pid " + chain.back().pid;
        }
    }
    // The deepest ancestor already on screen.
    size_t known = 0; // chain[0..known) ... the first `known` entries need no heading
    for (size_t i = chain.size(); i > 0; --i) {
        auto it = printed_.find(chain[i - 1].key);
        if (it != printed_.end() && it->second == i - 1) {
            known = i;
            break;
        }
    }
    if (known > 0) {
        size_t at = known - 1;
        bool in_context = at < context_.size() && context_[at] == chain[at].key;
        if (!in_context)
            out.push_back(heading(chain[at], at, true));
    }
    for (size_t i = known; i < chain.size(); ++i) {
        out.push_back(heading(chain[i], i, false));
        printed_[chain[i].key] = i;
    }

    size_t depth = chain.size();
    StyledLine l;
    l.add_head(format_.time_text(line) + " ", Tone::dim);
    Span user = format_.user_span(line);
    l.add_head(user.text + " ", user.tone);
    l.add_head(indent(depth));
    l.add_head(text_member(line, "pid"), Tone::pid);
    l.add_head(" ");
    l.body = format_.command(line);
    l.tail = format_.annotations(line);
    format_.remember(line);
    out.push_back(std::move(l));

    std::string key = text_member(line, "key");
    if (key.empty())
        key = "pid " + text_member(line, "pid");
    printed_[key] = depth;
    context_.clear();
    for (const auto& n : chain)
        context_.push_back(n.key);
    context_.push_back(key);
    return out;
}

std::vector<StyledLine> LiveTree::exit(const json& line) {
    std::string key = text_member(line, "key");
    auto it = printed_.find(key.empty() ? "pid " + text_member(line, "pid") : key);
    if (it == printed_.end())
        return {};
    size_t depth = it->second;
    printed_.erase(it);
    StyledLine l;
    l.add_head(format_.time_text(line) + " ", Tone::dim);
    Span user = format_.user_span(line);
    l.add_head(user.text + " ", user.tone);
    l.add_head(indent(depth));
    l.add_head(text_member(line, "pid"), Tone::pid);
    l.add_head(" ");
    for (auto& s : format_.exit_status(line))
        l.head.push_back(std::move(s));
    l.add_head("  ");
    l.body = format_.exited_command(line);
    return {l};
}

} // namespace execmon
