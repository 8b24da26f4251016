// --tree: a live forest. Each exec is printed indented under its ancestors
// (the exec line's `ancestors`, nearest first, and `key`). An ancestor is
// printed once, as a short heading line, and reused by every exec below it.
// Output is a stream, so when an exec belongs to another branch than the
// line just above it, its nearest already printed ancestor is named again
// in a dim reference line: indentation then never lies about parentage.
#pragma once

#include "event_format.hpp"

#include <string>
#include <unordered_map>
#include <vector>

namespace execmon {

class LiveTree {
public:
    explicit LiveTree(EventFormatter& format) : format_(format) {}

    std::vector<StyledLine> exec(const json& line);
    // The exit of a process shown in the tree, at its place; nothing for others.
    std::vector<StyledLine> exit(const json& line);

    static constexpr size_t indent_columns = 2;
    static constexpr size_t max_indent_levels = 24; // deeper levels are numbered, not indented

private:
    struct Node {
        std::string key;
        std::string pid;
        std::string comm;     // printable
        std::string filename; // printable
    };
    StyledLine heading(const Node& n, size_t depth, bool reference) const;
    std::string indent(size_t depth) const;
    std::string blank_columns() const;
    void bound_memory();

    EventFormatter& format_;
    std::unordered_map<std::string, size_t> printed_; // key -> depth
    std::vector<std::string> context_; // keys of the last line's chain, root first, itself last
};

} // namespace execmon
