// Checks lines against proto/stream.schema.json with tests/validate_stream.py
// (jsonschema: an implementation that is not ours).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace execmond::test {

// The validator meson passes in; null when run by hand without it.
inline const char* schema_validator() {
    return std::getenv("EXECMOND_STREAM_VALIDATOR");
}

// "" if every line is valid, else the validator's report.
inline std::string schema_report(const std::vector<std::string>& lines) {
    std::string path = "/tmp/execmond-schema-" + std::to_string(getpid()) + ".jsonl";
    {
        std::ofstream out(path);
        for (const auto& l : lines)
            out << l; // each ends in its newline
    }
    const char* python = std::getenv("EXECMOND_PYTHON"); // meson sets it; else Debian's
    std::string cmd =
        std::string(python ? python : "/usr/bin/python3") + " " + schema_validator() + " " + path + " 2>&1";
    std::string report;
    FILE* f = popen(cmd.c_str(), "r");
    if (!f)
        return "popen failed: " + cmd;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        report.append(buf, n);
    int status = pclose(f);
    std::remove(path.c_str());
    return status == 0 ? "" : (report.empty() ? "validator failed" : report);
}

} // namespace execmond::test
