// execmon: parse, connect, show. Each view lives in its own file.
#include "commands.hpp"
#include "connection.hpp"
#include "options.hpp"

#include <cstdio>
#include <exception>

int main(int argc, char* argv[]) {
    using namespace execmon;
    ParseResult parsed = parse_options(argc, argv);
    if (!parsed.options) {
        std::fputs((parsed.text + "\n").c_str(), parsed.exit_code == exit_ok ? stdout : stderr);
        return parsed.exit_code;
    }
    try {
        switch (parsed.options->command) {
        case Command::watch:
            return run_watch(*parsed.options);
        case Command::ps:
            return run_ps(*parsed.options);
        case Command::stats:
            return run_stats(*parsed.options);
        }
    } catch (const ClientError& e) {
        std::fprintf(stderr, "execmon: %s\n", e.what());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "execmon: %s\n", e.what());
    }
    return exit_failure;
}
