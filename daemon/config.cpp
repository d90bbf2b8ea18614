#include "daemon/config.h"

#include <toml++/toml.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace scorejam {
namespace {

std::string where(const std::string& source, const toml::node& node, const std::string& key) {
  std::ostringstream s;
  s << source << ":" << node.source().begin.line << ": " << key;
  return s.str();
}

// Reads [table] over `defaults`, rejecting keys it does not know.
class TableReader {
 public:
  TableReader(const toml::table& root, const std::string& table, const std::string& source)
      : source_(source), name_(table) {
    if (const auto* node = root.get(table)) {
      table_ = node->as_table();
      if (!table_) throw ConfigError(where(source, *node, table) + ": must be a table");
    }
  }

  template <class T>
  void read(const std::string& key, T& value, T min_value, T max_value) {
    known_.insert(key);
    const toml::node* node = table_ ? table_->get(key) : nullptr;
    if (!node) return;
    std::optional<T> v;
    if constexpr (std::is_same_v<T, double>) {
      v = node->value<double>();  // integers are accepted for floating-point keys
    } else {
      v = node->value_exact<T>();
    }
    if (!v) throw ConfigError(where(source_, *node, name_ + "." + key) + ": wrong type");
    if (*v < min_value || *v > max_value) {
      std::ostringstream s;
      s << where(source_, *node, name_ + "." + key) << ": " << *v << " is outside [" << min_value << ", "
        << max_value << "]";
      throw ConfigError(s.str());
    }
    value = *v;
  }
  void read(const std::string& key, float& value, float min_value, float max_value) {
    double d = value;
    read<double>(key, d, min_value, max_value);
    value = static_cast<float>(d);
  }
  void read(const std::string& key, int& value, int min_value, int max_value) {
    std::int64_t v = value;
    read<std::int64_t>(key, v, min_value, max_value);
    value = static_cast<int>(v);
  }
  void read(const std::string& key, bool& value) {
    known_.insert(key);
    const toml::node* node = table_ ? table_->get(key) : nullptr;
    if (!node) return;
    auto v = node->value_exact<bool>();
    if (!v) throw ConfigError(where(source_, *node, name_ + "." + key) + ": wrong type, expected true or false");
    value = *v;
  }
  void read(const std::string& key, std::string& value, const std::set<std::string>& allowed = {}) {
    known_.insert(key);
    const toml::node* node = table_ ? table_->get(key) : nullptr;
    if (!node) return;
    auto v = node->value_exact<std::string>();
    if (!v) throw ConfigError(where(source_, *node, name_ + "." + key) + ": wrong type, expected a string");
    if (!allowed.empty() && !allowed.count(*v))
      throw ConfigError(where(source_, *node, name_ + "." + key) + ": '" + *v + "' is not one of the allowed values");
    value = *v;
  }
  void reject_unknown() const {
    if (!table_) return;
    for (const auto& [key, node] : *table_)
      if (!known_.count(std::string(key.str())))
        throw ConfigError(where(source_, node, name_ + "." + std::string(key.str())) + ": unknown key");
  }

 private:
  std::string source_, name_;
  const toml::table* table_ = nullptr;
  std::set<std::string> known_;
};

}  // namespace

Config parse_config(const std::string& toml_text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream s;
    s << source << ":" << e.source().begin.line << ":" << e.source().begin.column << ": " << e.description();
    throw ConfigError(s.str());
  }
  static const std::set<std::string> kTables = {"runtime", "roll", "data"};
  for (const auto& [key, node] : root)
    if (!kTables.count(std::string(key.str())))
      throw ConfigError(where(source, node, std::string(key.str())) + ": unknown table");

  Config c;
  TableReader runtime(root, "runtime", source);
  runtime.read("threads", c.runtime.threads, 0, 1024);
  runtime.read("log_level", c.runtime.log_level, {"trace", "debug", "info", "warn", "error"});
  runtime.reject_unknown();

  TableReader roll(root, "roll", source);
  roll.read<double>("fs_hz", c.roll.format.fs_hz, 1.0, 1000.0);
  roll.read("sustain_pedal", c.roll.format.sustain_pedal);
  roll.read("onset_threshold", c.roll.thresholds.onset, 0.0f, 1.0f);
  roll.read("frame_threshold", c.roll.thresholds.frame, 0.0f, 1.0f);
  roll.reject_unknown();

  TableReader data(root, "data", source);
  data.read("cache_dir", c.data.cache_dir);
  data.reject_unknown();
  return c;
}

Config load_config(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path.string() + ": cannot open config file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path.string());
}

std::string to_toml(const Config& c) {
  toml::table root{
      {"runtime", toml::table{{"threads", c.runtime.threads}, {"log_level", c.runtime.log_level}}},
      {"roll", toml::table{{"fs_hz", c.roll.format.fs_hz},
                           {"sustain_pedal", c.roll.format.sustain_pedal},
                           {"onset_threshold", static_cast<double>(c.roll.thresholds.onset)},
                           {"frame_threshold", static_cast<double>(c.roll.thresholds.frame)}}},
      {"data", toml::table{{"cache_dir", c.data.cache_dir}}},
  };
  std::ostringstream s;
  s << root << "\n";
  return s.str();
}

}  // namespace scorejam
