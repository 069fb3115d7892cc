// Runs the real `swallow serve` binary for e2e tests: starts it on a free loopback port with
// the given flags, waits until it serves (the "serving" log line), and stops it with a signal.
// Its stderr goes to a log file that failing tests print. One object per server process.
#pragma once

#include <string>
#include <vector>

namespace swallow::test {

class ServerProcess {
 public:
  // Starts `swallow serve --host 127.0.0.1 --port 0 <args>` and waits up to `timeout_s` for it
  // to serve. Throws std::runtime_error (with the log) when it does not.
  ServerProcess(const std::vector<std::string>& args, double timeout_s = 60);
  ~ServerProcess();  // SIGKILL if still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  int pid() const { return pid_; }
  // Sends `signal` and waits up to `timeout_s` for the exit; returns the exit status, or -1 when
  // it did not exit (then it is killed) or died from a signal.
  int stop(int signal, double timeout_s);
  std::string log() const;

 private:
  int pid_ = -1;
  int port_ = 0;
  std::string log_path_;
};

// The tiny e2e model folder (made by the make_tiny_llama fixture), or "" when absent.
std::string tiny_model_dir();

}  // namespace swallow::test
