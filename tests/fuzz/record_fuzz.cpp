// libFuzzer target: bytes of one ring-buffer record, decoded as the daemon
// does and, when accepted, encoded into its JSON line (with a redaction
// pattern and made-up lineage). The line must always be one line of valid
// JSON whatever the kernel handed over.
#include "encoder.hpp"
#include "record_decoder.hpp"

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

    std::string line = encoder.encode(e, lineage);
    if (line.empty() || line.back() != '\n' || line.find('\n') != line.size() - 1)
        std::abort();
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || j["type"] != to_string(e.kind))
        std::abort();
    if (e.kind == EventKind::exec && j["argv"].size() != Encoder::split_args(e.args).size())
        std::abort();
    return 0;
}
