// execmond: parse, wire, run. Everything else lives in its own file.
#include "daemon.hpp"
#include "log.hpp"
#include "options.hpp"

#include <cstdio>
#include <exception>

int main(int argc, char* argv[]) {
    using namespace execmond;
    ParseResult parsed = parse_options(argc, argv);
    if (!parsed.options) {
        std::fputs((parsed.text + "\n").c_str(), parsed.exit_code == exit_ok ? stdout : stderr);
        return parsed.exit_code;
    }
    log::init(parsed.options->log_target, parsed.options->log_level);
    try {
        Daemon daemon(std::move(*parsed.options));
        return daemon.run();
    } catch (const ProbeError& e) {
        log::error(e.what());
        return e.exit_code;
    } catch (const std::exception& e) {
        log::error(e.what());
        return exit_failure;
    }
}
