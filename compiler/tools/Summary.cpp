// Summary: walks the module tree for rows and the trace for MACs and
// activation sizes.
#include "tools/Summary.h"

#include "sema/Layers.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <map>

namespace seq::tools {

using namespace seq::sema;

namespace {

std::string withCommas(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return (n < 0 ? "-" : "") + out;
}

std::string bytes(double b) {
  const char *units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", b) : fmt::format("{:.2f} {}", b, units[u]);
}

std::string count(double n) {
  const char *units[] = {"", " K", " M", " G", " T"};
  int u = 0;
  while (n >= 1000 && u < 4) {
    n /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f}", n) : fmt::format("{:.2f}{}", n, units[u]);
}

int64_t elements(const SymShape &shape, int64_t batch) {
  int64_t n = 1;
  for (const SymInt &d : shape)
    n *= d.coeff * batch + d.constant;
  return n;
}

std::string shapeAt(const SymShape &shape, int64_t batch) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    out += (i ? ", " : "") + std::to_string(shape[i].coeff * batch + shape[i].constant);
  return out + "]";
}

struct Row {
  std::string tree;   // "├─ 0 (Conv2d)"
  int depth;
  std::string shape;
  int64_t params;
  int64_t macs;
};

class Summarizer {
public:
  Summarizer(const CheckedModel &model, int64_t batch) : model_(model), batch_(batch) {
    for (const TraceNode &node : model.trace.nodes)
      if (node.kind == TraceNode::Kind::Layer && node.module && node.layer->macsPerOutput)
        macs_[node.module] += node.layer->macsPerOutput(node.layerArgs()) *
                              elements(model.trace.values[size_t(node.output)].shape, batch);
  }

  std::vector<Row> rows() {
    std::vector<Row> rows;
    visit(*model_.root, "", 0, rows);
    return rows;
  }

private:
  // Returns the subtree's {params, macs}.
  std::pair<int64_t, int64_t> visit(const ModuleInst &m, const std::string &name, int depth,
                                    std::vector<Row> &rows) {
    size_t at = rows.size();
    std::string label = name.empty() ? std::string(m.className()) : fmt::format("{} ({})", name, m.className());
    rows.push_back({label, depth,
                    m.output >= 0 ? shapeAt(model_.trace.values[size_t(m.output)].shape, batch_) : "--",
                    0, 0});
    int64_t params = 0, macs = macs_[&m];
    if (m.kind == ModuleInst::Kind::Layer && m.layer->parameters)
      for (const LayerParam &p : m.layer->parameters(m.args)) {
        int64_t n = 1;
        for (int64_t d : p.shape)
          n *= d;
        (p.buffer ? buffers_ : params) += n;
      }
    for (size_t i = 0; i < m.children().size(); ++i) {
      bool last = i + 1 == m.children().size();
      size_t before = rows.size();
      auto [p, c] = visit(*m.children()[i].second, m.children()[i].first, depth + 1, rows);
      params += p;
      macs += c;
      for (size_t r = before; r < rows.size(); ++r)
        rows[r].tree = (r == before ? (last ? "└─ " : "├─ ") : (last ? "   " : "│  ")) + rows[r].tree;
    }
    rows[at].params = params;
    rows[at].macs = macs;
    return {params, macs};
  }

  const CheckedModel &model_;
  int64_t batch_;
  std::map<const ModuleInst *, int64_t> macs_;

public:
  int64_t buffers_ = 0; // running statistics, counted apart as torchinfo does
};

size_t displayWidth(const std::string &s) {
  size_t n = 0;
  for (char c : s)
    n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::string pad(const std::string &s, size_t width) {
  return s + std::string(width > displayWidth(s) ? width - displayWidth(s) : 0, ' ');
}

} // namespace

std::string summarize(const CheckedModel &model, const SummaryOptions &options) {
  Summarizer summarizer(model, options.batch);
  std::vector<Row> rows = summarizer.rows();
  size_t nameWidth = 12, shapeWidth = 12;
  for (const Row &r : rows) {
    nameWidth = std::max(nameWidth, displayWidth(r.tree));
    shapeWidth = std::max(shapeWidth, r.shape.size());
  }
  size_t total = nameWidth + 2 + 5 + 2 + shapeWidth + 2 + 13 + 2 + 15;
  std::string rule(total, '=');
  std::string thin(total, '-');

  std::string out = fmt::format("Model: {}\n", model.name);
  for (const ModelInput &in : model.inputs)
    out += fmt::format("Input '{}': {}{}\n", in.name, shapeAt(in.shape, options.batch),
                       in.batchName.empty() ? "" : fmt::format(" ({} = {})", in.batchName, options.batch));
  out += rule + "\n";
  out += fmt::format("{}  {:>5}  {}  {:>13}  {:>15}\n", pad("Layer (type)", nameWidth), "Depth",
                     pad("Output shape", shapeWidth), "Params", "MACs");
  out += rule + "\n";
  for (const Row &r : rows)
    out += fmt::format("{}  {:>5}  {}  {:>13}  {:>15}\n", pad(r.tree, nameWidth), r.depth,
                       pad(r.shape, shapeWidth), r.params ? withCommas(r.params) : "--",
                       r.macs ? withCommas(r.macs) : "--");
  out += rule + "\n";

  int64_t params = rows.empty() ? 0 : rows[0].params, macs = rows.empty() ? 0 : rows[0].macs;
  double activations = 0, input = 0;
  for (const TraceNode &node : model.trace.nodes)
    if (node.kind != TraceNode::Kind::View)
      activations += 4.0 * double(elements(model.trace.values[size_t(node.output)].shape, options.batch));
  for (int id : model.trace.inputs)
    input += 4.0 * double(elements(model.trace.values[size_t(id)].shape, options.batch));
  out += fmt::format("Total params: {}\n", withCommas(params));
  if (summarizer.buffers_)
    out += fmt::format("Buffers (BatchNorm running statistics): {}\n", withCommas(summarizer.buffers_));
  out += fmt::format("Parameter size: {} (float32{})\n", bytes(4.0 * double(params + summarizer.buffers_)),
                     summarizer.buffers_ ? ", buffers included" : "");
  out += fmt::format("Total MACs: {} ({})\n", withCommas(macs), count(double(macs)));
  out += fmt::format("Input size: {}\n", bytes(input));
  out += fmt::format("Activations, every output kept: {}\n", bytes(activations));
  if (options.plannedWorkspace)
    out += fmt::format("Workspace after fusion and memory planning (im2col scratch included): {}\n",
                       bytes(double(*options.plannedWorkspace)));
  out += thin + "\n";
  return out;
}

std::optional<std::string> batchTooLarge(const CheckedModel &model, int64_t batch) {
  for (const TraceValue &v : model.trace.values) {
    if (!v.valid)
      continue;
    int64_t bytes = 4;
    for (const SymInt &d : v.shape) {
      int64_t size;
      if (__builtin_mul_overflow(d.coeff, batch, &size) || __builtin_add_overflow(size, d.constant, &size) ||
          __builtin_mul_overflow(bytes, size, &bytes))
        return fmt::format("with batch {}, a tensor of shape {} would not fit in 64 bits", batch,
                           shapeStr(v.shape));
    }
  }
  for (const TraceNode &node : model.trace.nodes) {
    if (node.kind != TraceNode::Kind::Layer || !node.layer->macsPerOutput)
      continue;
    int64_t macs;
    if (__builtin_mul_overflow(node.layer->macsPerOutput(node.layerArgs()),
                               elements(model.trace.values[size_t(node.output)].shape, batch), &macs) ||
        macs > (int64_t(1) << 62))
      return fmt::format("with batch {}, the model's MACs would not fit in 64 bits", batch);
  }
  return std::nullopt;
}

std::string paramsJson(const CheckedModel &model) {
  nlohmann::json params = nlohmann::json::array();
  if (model.root)
    for (const ParamEntry &p : stateDict(*model.root))
      params.push_back({{"name", p.name}, {"shape", p.shape}});
  nlohmann::json j{{"model", model.name}, {"params", params}};
  return j.dump(2) + "\n";
}

} // namespace seq::tools
