// ServerProcess: fork/exec of the swallow binary, log scraping for the port, signals.
#include "server_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/test_support.h"

namespace swallow::test {

std::string tiny_model_dir() {
  const char* dir = std::getenv("SWALLOW_TINY_MODEL");
  if (dir == nullptr || !std::filesystem::exists(std::string(dir) + "/model.safetensors")) return "";
  return dir;
}

ServerProcess::ServerProcess(const std::vector<std::string>& args, double timeout_s) {
  static int counter = 0;
  log_path_ = (std::filesystem::temp_directory_path() /
               ("swallow_serve_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".log")).string();
  std::vector<std::string> argv = {swallow_binary(), "serve", "--host", "127.0.0.1", "--port", "0"};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_ = ::fork();
  if (pid_ == 0) {
    std::FILE* log = std::freopen(log_path_.c_str(), "w", stderr);
    if (log == nullptr) ::_exit(127);
    std::vector<char*> cargv;
    for (std::string& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = log();
    size_t at = text.find("serving '");
    if (at != std::string::npos) {
      size_t colon = text.find("127.0.0.1:", at);
      if (colon != std::string::npos) {
        port_ = std::stoi(text.substr(colon + 10));
        return;
      }
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("swallow serve exited during start-up:\n" + text);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("swallow serve did not start in time:\n" + log());
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  std::error_code ec;
  std::filesystem::remove(log_path_, ec);
}

int ServerProcess::stop(int signal, double timeout_s) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

std::string ServerProcess::log() const {
  std::ifstream in(log_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace swallow::test
