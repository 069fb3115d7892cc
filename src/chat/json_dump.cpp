// json.dumps with Python's exact output format.
#include "chat/json_dump.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "chat/py_format.h"
#include "chat/render_error.h"
#include "chat/unicode_text.h"

namespace swallow::jinja {
namespace {

class JsonWriter {
 public:
  JsonWriter(const JsonDumpOptions& options, TStringBuilder& out)
      : options_(options),
        out_(out),
        item_separator_(options.item_separator.value_or(options.indent ? "," : ", ")) {}

  void write(const Value& value, int level) {
    if (level > kMaxValueNesting) fail("maximum recursion depth exceeded while encoding JSON");
    switch (value.kind()) {
      case Kind::kNone: out_.append("null"); return;
      case Kind::kBool: out_.append(value.as_bool() ? "true" : "false"); return;
      case Kind::kInt: out_.append(std::to_string(value.as_int())); return;
      case Kind::kFloat: out_.append(float_text(value.as_float())); return;
      case Kind::kString: write_string(value.str()); return;
      case Kind::kList:
        if (value.list().kind == SeqKind::kList || value.list().kind == SeqKind::kTuple) {
          write_array(value.list().items, level);
          return;
        }
        break;
      case Kind::kDict: write_object(value.dict(), level); return;
      default: break;
    }
    fail("Object of type " + type_name(value) + " is not JSON serializable");
  }

 private:
  static std::string float_text(double d) {
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
    return format_float(d);
  }

  void newline(int level) {
    if (!options_.indent) return;
    while (static_cast<int>(newlines_.size()) <= level) {
      newlines_.push_back(newlines_.empty() ? "\n" : newlines_.back() + *options_.indent);
    }
    out_.append(newlines_[static_cast<size_t>(level)]);
  }

  void write_array(const ValueList& items, int level) {
    if (items.empty()) {
      out_.append("[]");
      return;
    }
    out_.append("[");
    newline(level + 1);
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) {
        out_.append(item_separator_);
        newline(level + 1);
      }
      write(items[i], level + 1);
    }
    newline(level);
    out_.append("]");
  }

  static TString key_text(const Value& key) {
    switch (key.kind()) {
      case Kind::kString: return key.str();
      case Kind::kNone: return TString("null");
      case Kind::kBool: return TString(key.as_bool() ? "true" : "false");
      case Kind::kInt: return TString(std::to_string(key.as_int()));
      case Kind::kFloat: return TString(float_text(key.as_float()));
      default: fail("keys must be str, int, float, bool or None, not " + type_name(key));
    }
  }

  void write_object(const DictObject& dict, int level) {
    if (dict.entries.empty()) {
      out_.append("{}");
      return;
    }
    std::vector<std::pair<TString, const Value*>> entries;
    entries.reserve(dict.entries.size());
    for (const auto& [key, value] : dict.entries) entries.emplace_back(key_text(key), &value);
    if (options_.sort_keys) {
      std::stable_sort(entries.begin(), entries.end(),
                       [](const auto& a, const auto& b) { return a.first.text < b.first.text; });
    }
    out_.append("{");
    newline(level + 1);
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i > 0) {
        out_.append(item_separator_);
        newline(level + 1);
      }
      write_string(entries[i].first);
      out_.append(options_.key_separator);
      write(*entries[i].second, level + 1);
    }
    newline(level);
    out_.append("}");
  }

  // Copies runs of characters that need no escaping as slices (keeping their marks) and
  // escapes the others one by one with the mark of the character they stand for.
  void write_string(const TString& s) {
    out_.append("\"");
    TaintCursor taint(s.spans);
    const std::string& text = s.text;
    size_t run = 0;
    std::string piece;
    for (size_t pos = 0; pos < text.size();) {
      const auto byte = static_cast<unsigned char>(text[pos]);
      const bool escape = byte == '"' || byte == '\\' || byte < 0x20 || (options_.ensure_ascii && byte > 0x7E);
      if (!escape) {
        ++pos;
        continue;
      }
      out_.append_slice(s, run, pos);
      const size_t start = pos;
      const char32_t cp = next_code_point(text, pos);
      piece.clear();
      switch (cp) {
        case '"': piece = "\\\""; break;
        case '\\': piece = "\\\\"; break;
        case '\n': piece = "\\n"; break;
        case '\r': piece = "\\r"; break;
        case '\t': piece = "\\t"; break;
        case '\b': piece = "\\b"; break;
        case '\f': piece = "\\f"; break;
        default: append_u_escape(piece, cp);
      }
      out_.append(piece, taint.at(start));
      run = pos;
    }
    out_.append_slice(s, run, text.size());
    out_.append("\"");
  }

  static void append_u_escape(std::string& piece, char32_t cp) {
    char buf[16];
    if (cp >= 0x10000) {
      const char32_t v = cp - 0x10000;
      std::snprintf(buf, sizeof(buf), "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 | (v >> 10)),
                    static_cast<unsigned>(0xDC00 | (v & 0x3FF)));
    } else {
      std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(cp));
    }
    piece += buf;
  }

  const JsonDumpOptions& options_;
  TStringBuilder& out_;
  std::string item_separator_;
  std::vector<std::string> newlines_;  // "\n" + indent * level, by level
};

}  // namespace

TString json_dumps(const Value& value, const JsonDumpOptions& options) {
  TStringBuilder out;
  JsonWriter(options, out).write(value, 0);
  return out.finish();
}

}  // namespace swallow::jinja
