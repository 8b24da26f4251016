#include "event.hpp"

namespace execmond {

const char* to_string(EventKind k) {
    switch (k) {
    case EventKind::fork:
        return "fork";
    case EventKind::exec:
        return "exec";
    case EventKind::exit:
        return "exit";
    case EventKind::exec_failed:
        return "exec_failed";
    }
    return "unknown";
}

const char* to_string(ParentSource s) {
    switch (s) {
    case ParentSource::btf:
        return "btf";
    case ParentSource::offsets:
        return "offsets";
    case ParentSource::fork_map:
        return "fork-map";
    case ParentSource::unknown:
        return "unknown";
    }
    return "unknown";
}

} // namespace execmond
