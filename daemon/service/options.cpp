#include "options.hpp"

#include "env_filter.hpp"
#include "redactor.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/program_options.hpp>
#include <charconv>
#include <fstream>
#include <grp.h>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace po = boost::program_options;

namespace execmond {
namespace {

// A value problem, reported against the key (and the config line it came from).
struct BadValue : std::runtime_error {
    std::string key;
    BadValue(std::string k, const std::string& what) : std::runtime_error(what), key(std::move(k)) {}
};

po::options_description settings_description() {
    po::options_description d("Settings (also accepted as `key = value` lines in the config file)");
    // clang-format off
    d.add_options()
        ("socket", po::value<std::string>(), "Unix socket to serve events on (default /run/execmond/events.sock)")
        ("socket-mode", po::value<std::string>(), "permissions of the socket file, octal (default 0660)")
        ("socket-group", po::value<std::string>(), "group owning the socket file (default execmond)")
        ("allow-uid", po::value<std::vector<std::string>>()->composing(), "only these uids may connect (repeatable; root always may)")
        ("allow-group", po::value<std::vector<std::string>>()->composing(), "... or members of these groups (name or gid, repeatable)")
        ("redact", po::value<std::vector<std::string>>()->composing(), "mask argv elements matching this regular expression (RE2 syntax, repeatable)")
        ("probe-mode", po::value<std::string>(), "auto, btf (tp_btf, the kernel's BTF) or classic (never the kernel's BTF: --btf, else fork map) (default auto)")
        ("btf", po::value<std::string>(), "BTF file of this kernel (e.g. btfhub's) for the probes' CO-RE reads when the kernel has none")
        ("follow", po::value<std::vector<std::string>>()->composing(), "only report this pid and its descendants (repeatable)")
        ("ancestors-depth", po::value<std::string>(), "ancestors listed on each exec line, 0-64 (default 64)")
        ("ancestor-argv", po::bool_switch(), "also put argv (1 KiB) on each ancestor of exec lines")
        ("env", po::value<std::vector<std::string>>()->composing(), "show this environment variable of each exec'd program on its exec line (repeatable, at most 16)")
        ("exec-failures", po::value<std::string>()->implicit_value("true"), "also report execve() calls that fail, as exec_failed lines (in the config file: exec-failures = true; default false)")
        ("ring-size", po::value<std::string>(), "kernel ring buffer size, a power of two from 64K to 1G (default 8M)")
        ("latency-us", po::value<std::string>(), "longest a record may wait in the ring before the reader wakes (default 1000)")
        ("wakeup-bytes", po::value<std::string>(), "wake the reader once this much is queued (default: a quarter of the ring)")
        ("wakeup-timer", po::value<std::string>(), "auto (kernel where the kernel allows it), kernel (a BPF timer batches the wake-ups of lone bursts: one wake-up less each; kernel BTF, Linux 5.15+) or reader (the daemon's own timer only) (default auto)")
        ("client-queue", po::value<std::string>(), "bytes queued per client before its oldest lines are dropped (default 4M)")
        ("client-timeout", po::value<std::string>(), "seconds a client may stay stuck before it is disconnected (default 30)")
        ("hash", po::value<std::string>(), "sha256: the SHA-256 of every executed file on exec lines (default off)")
        ("hash-max-size", po::value<std::string>(), "files larger than this are not hashed (default 256M)")
        ("hash-cache", po::value<std::string>(), "files whose digests are kept, 16-1048576 (default 16384)")
        ("packages", po::value<std::string>()->implicit_value("yes"), "the Debian package of every executed file, and whether it was modified (yes/no, default no)")
        ("replay-buffer", po::value<std::string>(), "bytes of recent lines kept for clients resuming with since; 0: none (default 64M)")
        ("state-dir", po::value<std::string>(), "where the state file is kept across restarts; empty: none (default /var/lib/execmond)")
        ("output-file", po::value<std::string>(), "also write the event lines to this file, for shippers that tail it (default: none)")
        ("output-max-size", po::value<std::string>(), "rotate the output file before it grows past this size; 0: never (default 100M)")
        ("output-keep", po::value<std::string>(), "rotated output files kept, 0-1000 (default 5)")
        ("output-compress", po::value<std::string>(), "compress rotated output files: none or gzip (default none)")
        ("output-mode", po::value<std::string>(), "permissions of the output file, octal (default 0640)")
        ("output-group", po::value<std::string>(), "group owning the output file (default execmond)")
        ("output-queue", po::value<std::string>(), "bytes queued for the output file before its oldest lines are dropped (default 16M)")
        ("output-filter", po::value<std::string>(), "which lines the output file gets: a subscribe request's members as JSON, e.g. {\"events\":[\"exec\"]} (default: all)")
        ("metrics-listen", po::value<std::string>(), "serve Prometheus metrics at http://ADDR:PORT/metrics, e.g. 127.0.0.1:9669 (default: off)")
        ("log-target", po::value<std::string>(), "auto, journal or stderr (default auto)")
        ("log-level", po::value<std::string>(), "err, warning, notice, info or debug (default info)");
    // clang-format on
    return d;
}

template <typename T>
T parse_number(const std::string& key, const std::string& text, T min, T max, int base = 10) {
    T value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
        throw BadValue(key, "'" + text + "' is not a number from " + std::to_string(min) + " to " +
                                std::to_string(max));
    return value;
}

// One of a fixed set of words; the error lists them in the order given.
template <typename T>
T parse_choice(const std::string& key, const std::string& text,
               std::initializer_list<std::pair<const char*, T>> choices) {
    std::string names;
    for (const auto& [name, value] : choices) {
        if (text == name)
            return value;
        names += (names.empty() ? "" : ", ") + std::string(name);
    }
    throw BadValue(key, "'" + text + "' is not one of " + names);
}

bool parse_bool(const std::string& key, const std::string& text) {
    if (text == "true" || text == "yes" || text == "on" || text == "1")
        return true;
    if (text == "false" || text == "no" || text == "off" || text == "0")
        return false;
    throw BadValue(key, "'" + text + "' is not one of true, false (or yes, no, on, off, 1, 0)");
}

uint64_t parse_size_value(const std::string& key, const std::string& text) {
    auto v = parse_size(text);
    if (!v)
        throw BadValue(key, "'" + text + "' is not a size (bytes, or a number with K, M or G)");
    return *v;
}

gid_t resolve_group(const std::string& key, const std::string& text) {
    if (!text.empty() && std::isdigit(static_cast<unsigned char>(text[0])))
        return parse_number<gid_t>(key, text, 0, 0xfffffffe);
    if (const group* g = getgrnam(text.c_str()))
        return g->gr_gid;
    throw BadValue(key, "no group named '" + text + "'");
}

Options to_options(const po::variables_map& vm) {
    Options o;
    auto str = [&](const char* key) -> const std::string* {
        return vm.count(key) ? &vm[key].as<std::string>() : nullptr;
    };
    auto list = [&](const char* key) {
        return vm.count(key) ? vm[key].as<std::vector<std::string>>() : std::vector<std::string>{};
    };
    if (auto s = str("socket")) {
        if (s->empty() || s->size() >= 108)
            throw BadValue("socket", "a socket path must have 1 to 107 characters");
        o.socket_path = *s;
    }
    if (auto s = str("socket-mode"))
        o.socket_mode = parse_number<mode_t>("socket-mode", *s, 0, 0777, 8);
    if (auto s = str("socket-group"))
        o.socket_group = *s;
    for (const auto& s : list("allow-uid"))
        o.allow_uids.push_back(parse_number<uid_t>("allow-uid", s, 0, 0xfffffffe));
    for (const auto& s : list("allow-group"))
        o.allow_gids.push_back(resolve_group("allow-group", s));
    for (const auto& s : list("redact")) {
        if (auto why = Redactor::error_of(s); !why.empty())
            throw BadValue("redact", "'" + s + "' is not a valid regular expression (RE2 syntax): " + why);
        o.redact.push_back(s);
    }
    if (auto s = str("probe-mode"))
        o.probe_mode = parse_choice<ProbeMode>(
            "probe-mode", *s,
            {{"auto", ProbeMode::automatic}, {"btf", ProbeMode::btf}, {"classic", ProbeMode::classic}});
    if (auto s = str("btf"))
        o.btf_path = *s;
    for (const auto& s : list("follow"))
        o.follow.push_back(parse_number<pid_t>("follow", s, 1, 0x3fffffff));
    if (auto s = str("ancestors-depth"))
        o.ancestors_depth = parse_number<unsigned>("ancestors-depth", *s, 0, max_ancestors_depth);
    o.ancestor_argv = vm.count("ancestor-argv") && vm["ancestor-argv"].as<bool>();
    for (const auto& s : list("env")) {
        if (auto why = env_name_error(s); !why.empty())
            throw BadValue("env", why);
        if (std::find(o.env.begin(), o.env.end(), s) == o.env.end())
            o.env.push_back(s);
    }
    if (o.env.size() > env_names_max)
        throw BadValue("env", "at most " + std::to_string(env_names_max) + " names");
    if (auto s = str("exec-failures"))
        o.exec_failures = parse_bool("exec-failures", *s);
    if (auto s = str("ring-size")) {
        o.ring_size = parse_size_value("ring-size", *s);
        // An exec record is up to ~12 KiB (4 KiB filename, 8 KiB argv): a smaller
        // ring would drop most of them.
        if (o.ring_size < 65536 || o.ring_size > (1ull << 30) || (o.ring_size & (o.ring_size - 1)) != 0)
            throw BadValue("ring-size", "'" + *s + "' must be a power of two from 64K to 1G");
    }
    if (auto s = str("latency-us"))
        o.latency_us = parse_number<uint64_t>("latency-us", *s, 0, 10'000'000);
    if (auto s = str("wakeup-bytes"))
        o.wakeup_bytes = parse_size_value("wakeup-bytes", *s);
    using WakeupTimer = ProbeConfig::WakeupTimer;
    if (auto s = str("wakeup-timer"))
        o.wakeup_timer = parse_choice<WakeupTimer>("wakeup-timer", *s,
                                                   {{"auto", WakeupTimer::automatic},
                                                    {"kernel", WakeupTimer::kernel},
                                                    {"reader", WakeupTimer::reader}});
    if (auto s = str("client-queue")) {
        o.client_queue_bytes = parse_size_value("client-queue", *s);
        if (o.client_queue_bytes < 65536)
            throw BadValue("client-queue", "'" + *s + "' is below the minimum of 64K");
    }
    if (auto s = str("client-timeout"))
        o.client_timeout_s = parse_number<unsigned>("client-timeout", *s, 1, 86400);
    if (auto s = str("hash")) {
        if (*s != "sha256")
            throw BadValue("hash", "'" + *s + "' is not a supported digest (sha256)");
        o.hash_sha256 = true;
    }
    if (auto s = str("hash-max-size")) {
        o.hash_max_size = parse_size_value("hash-max-size", *s);
        if (o.hash_max_size == 0)
            throw BadValue("hash-max-size", "'" + *s + "' must be above 0");
    }
    if (auto s = str("hash-cache"))
        o.hash_cache_entries = parse_number<size_t>("hash-cache", *s, 16, 1u << 20);
    if (auto s = str("packages")) {
        if (*s == "yes" || *s == "true")
            o.packages = true;
        else if (*s == "no" || *s == "false")
            o.packages = false;
        else
            throw BadValue("packages", "'" + *s + "' is not one of yes, no");
    }
    if (auto s = str("replay-buffer")) {
        o.replay_buffer_bytes = parse_size_value("replay-buffer", *s);
        if (o.replay_buffer_bytes > (64ull << 30))
            throw BadValue("replay-buffer", "'" + *s + "' is above the maximum of 64G");
    }
    if (auto s = str("state-dir")) {
        if (!s->empty() && s->front() != '/')
            throw BadValue("state-dir", "'" + *s + "' is not an absolute path");
        o.state_dir = *s;
    }
    if (auto s = str("output-file")) {
        if (s->empty())
            throw BadValue("output-file", "the output file needs a path");
        o.output_file = *s;
    }
    if (auto s = str("output-max-size")) {
        o.output_max_size = parse_size_value("output-max-size", *s);
        if (o.output_max_size != 0 && o.output_max_size < 4096)
            throw BadValue("output-max-size", "'" + *s + "' is below the minimum of 4K (0: never rotate)");
    }
    if (auto s = str("output-keep"))
        o.output_keep = parse_number<unsigned>("output-keep", *s, 0, 1000);
    if (auto s = str("output-compress"))
        o.output_compress = parse_choice<bool>("output-compress", *s, {{"none", false}, {"gzip", true}});
    if (auto s = str("output-mode"))
        o.output_mode = parse_number<mode_t>("output-mode", *s, 0, 0777, 8);
    if (auto s = str("output-group"))
        o.output_group = *s;
    if (auto s = str("output-queue")) {
        o.output_queue_bytes = parse_size_value("output-queue", *s);
        if (o.output_queue_bytes < 65536)
            throw BadValue("output-queue", "'" + *s + "' is below the minimum of 64K");
    }
    if (auto s = str("output-filter")) {
        // The members of a subscribe request, checked by the same parser the
        // socket's requests go through.
        nlohmann::json j = nlohmann::json::parse(*s, nullptr, false);
        if (!j.is_object())
            throw BadValue("output-filter", "'" + *s + "' is not a JSON object");
        if (j.contains("type") && j["type"] != "subscribe")
            throw BadValue("output-filter", "'type' may only be \"subscribe\"");
        j["type"] = "subscribe";
        auto request = parse_request(j.dump());
        if (auto* err = std::get_if<RequestError>(&request))
            throw BadValue("output-filter", err->message);
        o.output_filter = std::get<SubscribeRequest>(request).subscription;
    }
    if (auto s = str("metrics-listen")) {
        auto listen = parse_listen_address(*s);
        if (!listen)
            throw BadValue(
                "metrics-listen",
                "'" + *s +
                    "' is not ADDRESS:PORT (an IPv4 address, or an IPv6 one in [], and a port 1-65535)");
        o.metrics_address = listen->first;
        o.metrics_port = listen->second;
    }
    if (auto s = str("log-target"))
        o.log_target = parse_choice<log::Target>("log-target", *s,
                                                 {{"auto", log::Target::automatic},
                                                  {"journal", log::Target::journal},
                                                  {"stderr", log::Target::stderr_}});
    if (auto s = str("log-level")) {
        auto p = log::parse_priority(*s);
        if (!p)
            throw BadValue("log-level", "'" + *s + "' is not one of err, warning, notice, info, debug");
        o.log_level = *p;
    }
    return o;
}

struct ConfigFile {
    po::parsed_options parsed{nullptr};
    std::map<std::string, int> line_of; // last line each key appeared on
};

// Reads FILE line by line so every error can name its line.
ConfigFile read_config(const std::string& path, const po::options_description& settings) {
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error("config " + path + ": cannot be read");
    ConfigFile cf;
    cf.parsed = po::parsed_options(&settings);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos || line[first] == '#' || line[first] == ';')
            continue;
        try {
            std::istringstream one(line);
            auto p = po::parse_config_file(one, settings, false);
            for (auto& opt : p.options) {
                cf.line_of[opt.string_key] = n;
                cf.parsed.options.push_back(std::move(opt));
            }
        } catch (const po::error& e) {
            throw std::runtime_error("config " + path + " line " + std::to_string(n) + ": " + e.what());
        }
    }
    return cf;
}

} // namespace

std::optional<std::pair<std::string, uint16_t>> parse_listen_address(std::string_view text) {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos)
        return std::nullopt;
    std::string_view host = text.substr(0, colon);
    std::string_view port_text = text.substr(colon + 1);
    bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
    if (bracketed)
        host = host.substr(1, host.size() - 2);
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(std::string(host), ec);
    if (ec || address.is_v6() != bracketed)
        return std::nullopt;
    uint16_t port = 0;
    auto [end, perr] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (perr != std::errc() || end != port_text.data() + port_text.size() || port == 0)
        return std::nullopt;
    return std::make_pair(std::string(host), port);
}

std::optional<uint64_t> parse_size(std::string_view text) {
    if (text.empty())
        return std::nullopt;
    uint64_t shift = 0;
    switch (text.back()) {
    case 'K':
    case 'k':
        shift = 10;
        break;
    case 'M':
    case 'm':
        shift = 20;
        break;
    case 'G':
    case 'g':
        shift = 30;
        break;
    default:
        break;
    }
    if (shift != 0)
        text.remove_suffix(1);
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty())
        return std::nullopt;
    if (value > (UINT64_MAX >> shift))
        return std::nullopt;
    return value << shift;
}

ParseResult parse_options(int argc, const char* const argv[]) {
    po::options_description generic("Options");
    generic.add_options()("help,h", "print this help and exit")("version,V", "print the version and exit")(
        "config,c", po::value<std::string>(), "configuration file (default /etc/execmond/execmond.conf)");
    auto settings = settings_description();
    po::options_description all;
    all.add(generic).add(settings);

    ParseResult result;
    po::variables_map vm;
    try {
        po::positional_options_description no_positional; // execmond takes no operands
        po::store(po::command_line_parser(argc, argv).options(all).positional(no_positional).run(), vm);
    } catch (const po::error& e) {
        result.exit_code = exit_usage;
        result.text = std::string("execmond: ") + e.what() + " (see execmond --help)";
        return result;
    }
    if (vm.count("help")) {
        std::ostringstream out;
        out << "Usage: execmond [options]\n"
            << "Streams every process fork, exec and exit on this machine as JSON lines to clients of a Unix "
               "socket.\n\n"
            << generic << "\n"
            << settings;
        result.text = out.str();
        return result;
    }
    if (vm.count("version")) {
        result.text = "execmond " EXECMOND_VERSION;
        return result;
    }

    std::string config_path = Options{}.config_path;
    bool explicit_config = vm.count("config") != 0;
    if (explicit_config)
        config_path = vm["config"].as<std::string>();
    ConfigFile cf;
    try {
        std::ifstream probe(config_path);
        if (explicit_config || probe.good())
            cf = read_config(config_path, settings);
        if (!cf.parsed.options.empty())
            po::store(cf.parsed, vm); // store keeps the command line's values: flags win
        po::notify(vm);
        result.options = to_options(vm);
        result.options->config_path = config_path;
    } catch (const BadValue& e) {
        std::string where = "--" + e.key;
        // A value the command line did not set came from the config file.
        if (auto it = cf.line_of.find(e.key); it != cf.line_of.end()) {
            bool from_flag = false;
            for (int i = 1; i < argc; ++i)
                from_flag |= std::string_view(argv[i]).starts_with("--" + e.key);
            if (!from_flag)
                where = "config " + config_path + " line " + std::to_string(it->second) + ": " + e.key;
        }
        result.options.reset();
        result.exit_code = exit_usage;
        result.text = "execmond: " + where + ": " + e.what();
    } catch (const std::exception& e) {
        result.options.reset();
        result.exit_code = exit_usage;
        result.text = std::string("execmond: ") + e.what();
    }
    return result;
}

} // namespace execmond
