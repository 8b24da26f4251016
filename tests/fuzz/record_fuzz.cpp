// libFuzzer target: bytes of one ring-buffer record, decoded as the daemon
// does and, when accepted, encoded into its JSON line (with a redaction
// pattern and made-up lineage). The line must always be one line of valid
// JSON whatever the kernel handed over.
#include "encoder.hpp"
#include "record_decoder.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

using namespace execmond;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // The ring hands out 8-byte aligned records; copy so ASan sees the exact size.
    std::vector<char> record(data, data + size);
    auto decoded = decode_record(record.data(), record.size());
    if (auto* err = std::get_if<DecodeError>(&decoded)) {
        if (err->message.empty())
            std::abort();
        return 0;
    }
    const Event& e = std::get<Event>(decoded);
    static const BootClock clock(1767225600ll * 1'000'000'000ll);
    static const Encoder encoder(clock, {"^--password=", "s3cr[e]t"});

    ProcessInfo self, parent;
    self.pid = e.pid;
    self.start_ticks = 7;
    self.fork_ppid = e.ppid;
    parent.pid = e.ppid;
    parent.comm = std::string(e.comm);
    parent.filename = std::string(e.filename);
    std::vector<const ProcessInfo*> ancestors{&parent};
    Lineage lineage{&self, &parent, e.kind == EventKind::exec ? &ancestors : nullptr, e.comm};

    const uint64_t seq = 1 + record.size(); // the daemon numbers every line
    std::string line = encoder.encode(e, lineage, seq);
    if (line.empty() || line.back() != '\n' || line.find('\n') != line.size() - 1)
        std::abort();
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || j["type"] != to_string(e.kind) || j["seq"] != seq)
        std::abort();
    if (e.kind == EventKind::exec && !e.args_known) {
        // Fork-map records do not carry argv: it must be left out, not invented.
        if (j.contains("argv") || j.contains("argv_truncated") || j.contains("argc"))
            std::abort();
    } else if (e.kind == EventKind::exec) {
        // argv, counted from the bytes themselves: one element per NUL, and
        // one more for a final fragment without one.
        const std::string_view args = e.args;
        size_t nuls = static_cast<size_t>(std::count(args.begin(), args.end(), '\0'));
        size_t expected = nuls + (!args.empty() && args.back() != '\0' ? 1 : 0);
        const auto& argv = j["argv"];
        if (!argv.is_array() || argv.size() != expected)
            std::abort();
        if (j["argv_truncated"] != (e.args_truncated || (!args.empty() && args.back() != '\0')))
            std::abort();
        // An element shown as is (not escaped, not redacted) is exactly its
        // bytes: walk the area by the elements' own lengths.
        std::vector<size_t> escaped;
        if (j.contains("argv_escaped"))
            escaped = j["argv_escaped"].get<std::vector<size_t>>();
        size_t at = 0;
        for (size_t i = 0; i < argv.size(); ++i) {
            const std::string& shown = argv[i].get_ref<const std::string&>();
            bool as_is =
                shown != "[REDACTED]" && std::find(escaped.begin(), escaped.end(), i) == escaped.end();
            if (!as_is)
                break; // its raw length is not in the line: stop checking here
            if (args.compare(at, shown.size(), shown) != 0 ||
                (at + shown.size() < args.size() && args[at + shown.size()] != '\0'))
                std::abort();
            at += shown.size() + 1;
        }
    }
    return 0;
}
