// Checkpoint: finds and opens the safetensors files of a Hugging Face model folder and indexes
// their tensors by name, checking the shard index against the shards.
#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/json_fields.h"
#include "io/safetensors.h"

namespace swallow {
namespace {

namespace fs = std::filesystem;

constexpr const char* kIndexName = "model.safetensors.index.json";
constexpr const char* kSingleName = "model.safetensors";

// The weight_map of an index file: tensor name -> shard file name (a plain name in the folder).
std::map<std::string, std::string> read_weight_map(const std::string& index_path) {
  nlohmann::json index = read_json_file(index_path);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    throw invalid_file(index_path, "expected an object with a \"weight_map\" object (tensor name -> shard file)");
  }
  std::map<std::string, std::string> weight_map;
  for (const auto& [tensor, shard] : index["weight_map"].items()) {
    if (!shard.is_string()) throw invalid_file(index_path, "weight_map entry '" + tensor + "' must be a file name");
    std::string file = shard.get<std::string>();
    if (file.empty() || file == "." || file == ".." || file.find('/') != std::string::npos ||
        file.find('\\') != std::string::npos) {
      throw invalid_file(index_path, "weight_map entry '" + tensor + "' names '" + file +
                                         "'; expected a file name inside the model folder");
    }
    weight_map.emplace(tensor, std::move(file));
  }
  if (weight_map.empty()) throw invalid_file(index_path, "weight_map is empty");
  return weight_map;
}

// Every *.safetensors file of the folder, sorted by name.
std::vector<std::string> list_safetensors(const fs::path& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".safetensors" && it->is_regular_file(ec)) files.push_back(it->path().string());
  }
  if (ec) throw invalid_file(dir.string(), "cannot list the folder: " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

Checkpoint Checkpoint::open(const std::string& model_dir) {
  fs::path dir(model_dir);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw not_found(model_dir + ": no such model folder");

  Checkpoint ckpt;
  std::string index_path = (dir / kIndexName).string();
  if (fs::exists(dir / kIndexName, ec)) {
    std::map<std::string, std::string> weight_map = read_weight_map(index_path);
    std::map<std::string, const SafetensorsFile*> shards;  // file name -> opened shard
    for (const auto& [tensor, file] : weight_map) {
      auto it = shards.find(file);
      if (it == shards.end()) {
        std::string shard_path = (dir / file).string();
        if (!fs::is_regular_file(shard_path, ec)) {
          throw not_found(index_path + ": shard '" + file + "' (holding tensor '" + tensor + "') does not exist in " +
                          model_dir);
        }
        ckpt.files_.push_back(std::make_unique<SafetensorsFile>(shard_path));
        it = shards.emplace(file, ckpt.files_.back().get()).first;
      }
      const TensorInfo* info = it->second->find(tensor);
      if (info == nullptr) {
        throw invalid_file(index_path, "tensor '" + tensor + "' is mapped to shard '" + file + "', which does not contain it");
      }
      ckpt.tensors_.emplace(tensor, info);
    }
    return ckpt;
  }

  std::vector<std::string> paths;
  if (fs::exists(dir / kSingleName, ec)) {
    paths.push_back((dir / kSingleName).string());
  } else {
    paths = list_safetensors(dir);
  }
  if (paths.empty()) {
    throw not_found(model_dir + ": no " + kSingleName + ", " + kIndexName + " or other *.safetensors file");
  }
  for (const std::string& path : paths) {
    ckpt.files_.push_back(std::make_unique<SafetensorsFile>(path));
    for (const TensorInfo& info : ckpt.files_.back()->tensors()) {
      auto [it, inserted] = ckpt.tensors_.emplace(info.name, &info);
      if (!inserted) {
        throw invalid_file(path, "tensor '" + info.name + "' is also in " + it->second->file +
                                     " (add a model.safetensors.index.json to say which one to use)");
      }
    }
  }
  return ckpt;
}

const TensorInfo* Checkpoint::find(std::string_view name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : it->second;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> names;
  names.reserve(tensors_.size());
  for (const auto& [name, info] : tensors_) names.push_back(name);
  return names;
}

uint64_t Checkpoint::total_bytes() const {
  uint64_t total = 0;
  for (const auto& [name, info] : tensors_) total += info->data.size();
  return total;
}

}  // namespace swallow
