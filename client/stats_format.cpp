#include "stats_format.hpp"

#include "event_format.hpp"
#include "json_fields.hpp"
#include "shell_quote.hpp"
#include "times.hpp"

#include <cstdio>
#include <cstdlib>

namespace execmon {

namespace {

using json = nlohmann::json;

uint64_t u64(const json& j, const char* name) {
    return uint_member(j, name).value_or(0);
}

const json& member(const json& j, const char* name) {
    static const json empty = json::object();
    auto m = j.find(name);
    return m != j.end() && m->is_object() ? *m : empty;
}

std::string rate(double per_second) {
    if (per_second == 0)
        return "0";
    char buf[32];
    std::snprintf(buf, sizeof(buf),
                  per_second < 10     ? "%.2f"
                  : per_second < 1000 ? "%.1f"
                                      : "%.0f",
                  per_second);
    return buf;
}

} // namespace

std::string thousands(uint64_t n) {
    std::string digits = std::to_string(n), out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0)
            out += ',';
        out += digits[i];
    }
    return out;
}

std::string human_bytes(uint64_t n) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(n);
    size_t u = 0;
    while (v >= 1024 && u + 1 < std::size(units)) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    if (u == 0)
        std::snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(n));
    else
        std::snprintf(buf, sizeof(buf), "%.1f %s", v, units[u]);
    return buf;
}

json StatsSample::to_json() const {
    return {{"boot_id", boot_id},
            {"daemon_start_s", daemon_start_s},
            {"time_ns", time_ns},
            {"fork", fork},
            {"exec", exec},
            {"exit", exit},
            {"kernel_lost", kernel_lost},
            {"client_lost", client_lost}};
}

std::optional<StatsSample> StatsSample::from_json(const json& j) {
    if (!j.is_object())
        return std::nullopt;
    try {
        StatsSample s;
        s.boot_id = j.at("boot_id").get<std::string>();
        s.daemon_start_s = j.at("daemon_start_s").get<int64_t>();
        s.time_ns = j.at("time_ns").get<int64_t>();
        s.fork = j.at("fork").get<uint64_t>();
        s.exec = j.at("exec").get<uint64_t>();
        s.exit = j.at("exit").get<uint64_t>();
        s.kernel_lost = j.at("kernel_lost").get<uint64_t>();
        s.client_lost = j.at("client_lost").get<uint64_t>();
        return s;
    } catch (const json::exception&) {
        return std::nullopt;
    }
}

bool StatsSample::precedes(const StatsSample& later) const {
    // uptime_s is whole seconds: the start estimate moves by up to one.
    return boot_id == later.boot_id && std::llabs(daemon_start_s - later.daemon_start_s) <= 2 &&
           time_ns < later.time_ns && fork <= later.fork && exec <= later.exec && exit <= later.exit &&
           kernel_lost <= later.kernel_lost && client_lost <= later.client_lost;
}

std::optional<StatsSample> sample_of(const json& stats, const json& hello) {
    auto t = stats.find("time");
    if (t == stats.end() || !t->is_string())
        return std::nullopt;
    auto wall = parse_rfc3339(t->get<std::string>());
    if (!wall)
        return std::nullopt;
    StatsSample s;
    s.boot_id = hello.value("boot_id", "");
    s.time_ns = wall->seconds * 1'000'000'000LL + wall->nanos;
    s.daemon_start_s = wall->seconds - static_cast<int64_t>(u64(stats, "uptime_s"));
    const json& events = member(stats, "events");
    s.fork = u64(events, "fork");
    s.exec = u64(events, "exec");
    s.exit = u64(events, "exit");
    s.kernel_lost = u64(member(stats, "kernel_lost"), "total");
    s.client_lost = u64(stats, "client_lost");
    return s;
}

std::vector<StyledLine> render_stats(const json& stats, const json& hello,
                                     const std::optional<StatsSample>& previous, pid_t self,
                                     UserNames& users) {
    std::vector<StyledLine> out;
    auto now = sample_of(stats, hello);
    uint64_t uptime = u64(stats, "uptime_s");

    StyledLine title;
    title.add_head("execmond " + printable(hello.value("version", "?")), Tone::strong);
    title.add_body(" on " + printable(hello.value("hostname", "?")) + ", up " +
                   human_duration(uptime * 1'000'000'000ULL));
    title.add_tail("  (protocol " + hello.value("protocol", json()).dump() + ", probes " +
                       printable(hello.value("probe_mode", "?")) + ", parents " +
                       printable(hello.value("parent_path", "?")) + ")",
                   Tone::dim);
    out.push_back(std::move(title));
    out.emplace_back();

    // Rates over the interval since the previous call, else since start.
    bool since_last = previous && now && previous->precedes(*now);
    double seconds = since_last ? static_cast<double>(now->time_ns - previous->time_ns) / 1e9
                                : static_cast<double>(uptime);
    auto per_second = [&](uint64_t total, uint64_t before) -> std::string {
        if (seconds <= 0)
            return "-";
        return rate(static_cast<double>(total - (since_last ? before : 0)) / seconds);
    };

    StyledLine head;
    head.add_head(std::string(20, ' ') + right("total", 11) + "   " + right("per second", 10), Tone::heading);
    out.push_back(std::move(head));
    auto row = [&](const std::string& name, uint64_t total, uint64_t before, bool loss,
                   const std::string& note) {
        StyledLine l;
        bool bad = loss && total > 0;
        bool new_loss = loss && total > before && since_last;
        l.add_head("  " + left(name, 18) + right(thousands(total), 11) + "   " +
                       right(per_second(total, before), 10),
                   bad ? Tone::bad : Tone::plain);
        if (bad)
            l.add_body(new_loss ? "  ! lost since the last call" : "  !", Tone::bad);
        if (!note.empty())
            l.add_tail("  " + note, Tone::dim);
        out.push_back(std::move(l));
    };
    const json& events = member(stats, "events");
    const json& kl = member(stats, "kernel_lost");
    StatsSample before = since_last ? *previous : StatsSample{};
    row("fork", u64(events, "fork"), before.fork, false, "");
    row("exec", u64(events, "exec"), before.exec, false, "");
    row("exit", u64(events, "exit"), before.exit, false, "");
    std::string by_type;
    if (u64(kl, "total") > 0)
        by_type = "fork " + thousands(u64(kl, "fork")) + ", exec " + thousands(u64(kl, "exec")) + ", exit " +
                  thousands(u64(kl, "exit")) + " (ring full; a larger --ring-size helps)";
    row("lost in the kernel", u64(kl, "total"), before.kernel_lost, true, by_type);
    row("lost by clients", u64(stats, "client_lost"), before.client_lost, true,
        u64(stats, "client_lost") > 0 ? "lines dropped from queues of clients too slow to read" : "");
    StyledLine over;
    if (since_last)
        over.add_head("  rates over the " + human_duration(static_cast<uint64_t>(seconds * 1e9)) +
                          " since the last execmon stats",
                      Tone::dim);
    else
        over.add_head("  rates since execmond started (no earlier execmon stats for this daemon)", Tone::dim);
    out.push_back(std::move(over));
    out.emplace_back();

    const json& ring = member(stats, "ring");
    StyledLine misc;
    uint64_t decode_errors = u64(stats, "decode_errors");
    misc.add_head("  clients " + thousands(u64(stats, "clients")) + "   process table " +
                  thousands(u64(stats, "process_table")) + "   ring " + human_bytes(u64(ring, "queued")) +
                  " of " + human_bytes(u64(ring, "size")) + " queued   wake-ups " +
                  thousands(u64(stats, "wakeups")) + "   timer drains " +
                  thousands(u64(stats, "timer_drains")) + "   ");
    misc.add_head("decode errors " + thousands(decode_errors), decode_errors ? Tone::bad : Tone::plain);
    out.push_back(std::move(misc));

    auto clients = stats.find("per_client");
    if (clients != stats.end() && clients->is_array() && !clients->empty()) {
        out.emplace_back();
        StyledLine h;
        h.add_head("  client     pid  " + left("user", EventFormatter::user_columns) +
                       "        sent        lost      queued",
                   Tone::heading);
        out.push_back(std::move(h));
        for (const auto& c : *clients) {
            uint64_t lost = u64(c, "lost");
            StyledLine l;
            l.add_head("  " + right(thousands(u64(c, "id")), 6) + " " +
                       right(std::to_string(u64(c, "pid")), 7) + "  " +
                       left(printable(users.name(static_cast<uint32_t>(u64(c, "uid")))),
                            EventFormatter::user_columns) +
                       " " + right(thousands(u64(c, "sent")), 11) + " ");
            l.add_head(right(thousands(lost), 11), lost ? Tone::bad : Tone::plain);
            l.add_head(" " + right(human_bytes(u64(c, "queued_bytes")), 11));
            if (lost)
                l.add_body("  !", Tone::bad);
            if (static_cast<pid_t>(u64(c, "pid")) == self)
                l.add_tail("  (this execmon)", Tone::dim);
            out.push_back(std::move(l));
        }
    }
    return out;
}

} // namespace execmon
