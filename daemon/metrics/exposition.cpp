#include "exposition.hpp"

#include <cstdio>
#include <initializer_list>
#include <utility>

namespace execmond {

namespace {

// Label values: backslash, double quote and newline are escaped.
std::string label_value(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"')
            out.push_back('\\');
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out.push_back(c);
    }
    return out;
}

class Writer {
public:
    // One metric family: its HELP and TYPE, then its samples.
    void family(const char* name, const char* type, const char* help) {
        name_ = name;
        text_ += "# HELP ";
        text_ += name;
        text_ += ' ';
        text_ += help;
        text_ += "\n# TYPE ";
        text_ += name;
        text_ += ' ';
        text_ += type;
        text_ += '\n';
    }
    void sample(uint64_t value, std::string_view labels = {}) { line(labels, std::to_string(value)); }
    void sample_seconds(double value) {
        char buf[64];
        std::snprintf(buf, sizeof(buf), "%.3f", value);
        line({}, buf);
    }
    std::string take() { return std::move(text_); }

private:
    void line(std::string_view labels, const std::string& value) {
        text_ += name_;
        if (!labels.empty()) {
            text_ += '{';
            text_ += labels;
            text_ += '}';
        }
        text_ += ' ';
        text_ += value;
        text_ += '\n';
    }
    std::string name_;
    std::string text_;
};

} // namespace

std::string prometheus_text(const MetricsFacts& f) {
    const StatsFacts& s = f.stats;
    Writer w;
    w.family("execmond_build_info", "gauge",
             "Always 1; the labels say which execmond runs and how its probes work.");
    w.sample(1, "version=\"" + label_value(f.version) + "\",probe_mode=\"" + label_value(f.probe_mode) +
                    "\",parent_path=\"" + label_value(f.parent_path) + "\"");
    w.family("execmond_start_time_seconds", "gauge",
             "When the daemon started, in seconds since the Unix epoch.");
    w.sample_seconds(f.start_time_s);

    w.family("execmond_events_total", "counter", "Records received from the kernel, by event type.");
    w.sample(s.fork, "type=\"fork\"");
    w.sample(s.exec, "type=\"exec\"");
    w.sample(s.exit, "type=\"exit\"");
    w.sample(s.exec_failed, "type=\"exec_failed\"");
    w.family("execmond_kernel_lost_total", "counter",
             "Records the kernel could not queue because the ring buffer was full, by event type.");
    w.sample(s.kernel_lost.fork, "type=\"fork\"");
    w.sample(s.kernel_lost.exec, "type=\"exec\"");
    w.sample(s.kernel_lost.exit, "type=\"exit\"");
    w.sample(s.kernel_lost.exec_failed, "type=\"exec_failed\"");
    w.family("execmond_decode_errors_total", "counter", "Malformed records from the kernel (should stay 0).");
    w.sample(s.decode_errors);
    w.family("execmond_duplicate_exits_total", "counter",
             "Exit records dropped because that process's exit was already reported.");
    w.sample(s.duplicate_exits);
    w.family("execmond_stream_last_seq", "gauge",
             "The seq of the stream's latest line (hello.stream_id numbers).");
    w.sample(s.last_seq);

    w.family("execmond_client_lost_lines_total", "counter",
             "Lines dropped from socket clients' queues, all clients (including gone ones), by reason.");
    w.sample(s.client_lost, "reason=\"client_slow\"");
    w.family("execmond_clients", "gauge", "Socket clients connected now.");
    w.sample(s.clients.size());

    if (s.file) {
        const FileStats& file = *s.file;
        std::string path = "path=\"" + label_value(file.path) + "\"";
        w.family("execmond_file_lines_total", "counter", "Lines written to the output file.");
        w.sample(file.written, path);
        w.family("execmond_file_lost_lines_total", "counter",
                 "Lines the output file did not get, by reason (file_slow: its queue was full; file_error: a "
                 "write failed).");
        w.sample(file.lost_slow, path + ",reason=\"file_slow\"");
        w.sample(file.lost_error, path + ",reason=\"file_error\"");
        w.family("execmond_file_queued_bytes", "gauge", "Bytes waiting for the output file's writer now.");
        w.sample(file.queued_bytes, path);
        w.family("execmond_file_rotations_total", "counter", "Times the output file was rotated.");
        w.sample(file.rotations, path);
    }

    w.family("execmond_process_table_entries", "gauge", "Processes the daemon's table tracks now.");
    w.sample(s.process_table);
    w.family("execmond_ring_size_bytes", "gauge", "Size of the kernel ring buffer.");
    w.sample(s.ring_size);
    w.family("execmond_ring_queued_bytes", "gauge", "Bytes queued in the kernel ring buffer now (its fill).");
    w.sample(s.ring_queued);
    w.family("execmond_ring_wakeups_total", "counter", "Times the ring reader was woken by the kernel.");
    w.sample(s.wakeups);
    w.family("execmond_ring_timer_drains_total", "counter", "Times the ring reader drained on its timer.");
    w.sample(s.timer_drains);
    w.family("execmond_replay_buffer_bytes", "gauge",
             "Bytes the replay buffer holds now (lines and their bookkeeping).");
    w.sample(s.replay_bytes);
    w.family("execmond_replay_buffer_limit_bytes", "gauge", "The replay buffer's bound (--replay-buffer).");
    w.sample(s.replay_limit);
    w.family("execmond_replay_buffer_lines", "gauge", "Lines the replay buffer holds now.");
    w.sample(s.replay_lines);
    return w.take();
}

} // namespace execmond
