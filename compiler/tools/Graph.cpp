// Graph: DOT text for `seqc graph`. The layer graph groups the layers of a
// container or user module into a cluster labelled with its path and class.
#include "tools/Graph.h"

#include "sema/Layers.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>

namespace seq::tools {

using namespace seq::sema;

namespace {

const char *kHeader =
    "  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=11, labelloc=t];\n"
    "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#eef3fb\", color=\"#5b7db1\", "
    "fontname=\"Helvetica\", fontsize=10];\n"
    "  edge [color=\"#4a4a4a\", arrowsize=0.7];\n";

std::string endpoint(const std::string &id, const std::string &label) {
  return fmt::format("  {} [label={}, shape=ellipse, style=filled, fillcolor=\"#ffffff\"];\n", id,
                     dotQuote(label));
}

const char *binarySymbol(ast::BinaryOp op) {
  switch (op) {
  case ast::BinaryOp::Add: return "+";
  case ast::BinaryOp::Sub: return "-";
  case ast::BinaryOp::Mul: return "*";
  case ast::BinaryOp::Div: return "/";
  default: return "?";
  }
}

// ---- The layer graph ----------------------------------------------------------

class LayerGraph {
public:
  LayerGraph(const CheckedModel &model, const SourceManager &sources) : model_(model), sources_(sources) {
    index(*model.root);
  }

  std::string dot() {
    const Trace &trace = model_.trace;
    std::string out = fmt::format("digraph {} {{\n", dotQuote(model_.name));
    out += fmt::format("  label={};\n", dotQuote(fmt::format("{} (layers)", model_.name)));
    out += kHeader;
    for (size_t i = 0; i < trace.inputs.size() && i < model_.inputs.size(); ++i) {
      producer_[trace.inputs[i]] = fmt::format("in{}", i);
      out += endpoint(producer_[trace.inputs[i]],
                      fmt::format("{}\n{}", model_.inputs[i].name, shape(trace.inputs[i])));
    }
    for (size_t i = 0; i < trace.nodes.size(); ++i) {
      producer_[trace.nodes[i].output] = fmt::format("n{}", i);
      std::string cluster = clusterOf(i);
      if (!byCluster_.count(cluster))
        clusterOrder_.push_back(cluster);
      byCluster_[cluster].push_back(i);
    }
    out += cluster("", 1);
    for (size_t i = 0; i < trace.nodes.size(); ++i)
      for (int input : trace.nodes[i].inputs)
        if (producer_.count(input))
          out += fmt::format("  {} -> n{};\n", producer_[input], i);
    if (producer_.count(trace.output)) {
      out += endpoint("out", fmt::format("output\n{}", shape(trace.output)));
      out += fmt::format("  {} -> out;\n", producer_[trace.output]);
    }
    return out + "}\n";
  }

private:
  void index(const ModuleInst &m) {
    modules_[std::string(m.path())] = &m;
    for (const auto &[name, child] : m.children())
      index(*child);
  }

  std::string shape(int value) const {
    const TraceValue &v = model_.trace.values[size_t(value)];
    return shapeStr(v.shape, model_.inputs.empty() || model_.inputs[0].batchName.empty()
                                 ? "N"
                                 : model_.inputs[0].batchName);
  }

  // The path of the module whose cluster holds node `index` ("" for the
  // model). A layer goes with its parent. A tensor operation (`+`, relu(x),
  // view) goes with the user module whose forward it was written in: the
  // nearest ancestor, of the last layer called before it, whose definition
  // holds its source.
  std::string clusterOf(size_t index) const {
    const std::deque<TraceNode> &nodes = model_.trace.nodes;
    if (const ModuleInst *m = nodes[index].module)
      return parentPath(std::string(m->path()));
    const SourceRange &at = nodes[index].range;
    for (size_t j = index; j-- > 0;) {
      if (!nodes[j].module)
        continue;
      for (std::string p = parentPath(std::string(nodes[j].module->path()));; p = parentPath(p)) {
        auto it = modules_.find(p);
        if (it != modules_.end() && it->second->kind == ModuleInst::Kind::User && holds(*it->second, at))
          return p;
        if (p.empty())
          return "";
      }
    }
    return "";
  }

  static std::string parentPath(const std::string &path) {
    size_t dot = path.rfind('.');
    return dot == std::string::npos ? "" : path.substr(0, dot);
  }

  static bool holds(const ModuleInst &m, const SourceRange &r) {
    if (!m.definition())
      return false;
    const SourceRange &d = m.definition()->range;
    return d.file == r.file && d.begin <= r.begin && r.end <= d.end;
  }

  std::string label(const TraceNode &node) const {
    switch (node.kind) {
    case TraceNode::Kind::Layer: {
      std::string extra = node.layer->extraRepr ? node.layer->extraRepr(node.layerArgs()) : "";
      if (!node.module) {
        // A functional call: its name as written (relu, F.log_softmax, x.softmax).
        std::string text(sources_.text(node.range));
        text = text.substr(0, text.find('('));
        text = text.substr(text.rfind('.') == std::string::npos ? 0 : text.rfind('.') + 1);
        return extra.empty() ? text : fmt::format("{}({})", text, extra);
      }
      std::string name(node.module->path().substr(node.module->path().rfind('.') + 1));
      return fmt::format("{}: {}({})", name, node.module->className(), extra);
    }
    case TraceNode::Kind::Binary: return binarySymbol(node.op);
    case TraceNode::Kind::Scalar:
      return node.scalarOnLeft ? fmt::format("{} {} x", node.scalar, binarySymbol(node.op))
                               : fmt::format("x {} {}", binarySymbol(node.op), node.scalar);
    case TraceNode::Kind::View: return "view";
    case TraceNode::Kind::Concat: return fmt::format("cat(dim={})", node.dim);
    case TraceNode::Kind::Slice: return fmt::format("slice(dim={}, start={}, step={})", node.dim, node.start, node.step);
    case TraceNode::Kind::Permute: return fmt::format("permute({})", fmt::join(node.dims, ", "));
    case TraceNode::Kind::Reduce:
      return fmt::format("{}(dim=({}))", ir::name(node.reduce), fmt::join(node.dims, ", "));
    }
    return "?";
  }

  // The nodes of cluster `path`, and its sub-clusters, indented `depth`.
  std::string cluster(const std::string &path, int depth) {
    std::string indent(size_t(depth) * 2, ' '), out;
    // Sub-clusters in the order their first layer runs.
    std::vector<std::string> children;
    for (const std::string &p : clusterOrder_)
      if (p != path && (path.empty() || p.rfind(path + ".", 0) == 0)) {
        size_t from = path.empty() ? 0 : path.size() + 1;
        std::string child = p.substr(0, p.find('.', from));
        if (std::find(children.begin(), children.end(), child) == children.end())
          children.push_back(child);
      }
    for (const std::string &child : children) {
      const ModuleInst *m = modules_.count(child) ? modules_.at(child) : nullptr;
      out += fmt::format("{}subgraph {} {{\n", indent, dotQuote("cluster_" + child));
      out += fmt::format("{}  label={}; style=\"rounded,dashed\"; color=\"#9aa7b8\";\n", indent,
                         dotQuote(m ? fmt::format("{} ({})", child, m->className()) : child));
      out += cluster(child, depth + 1);
      out += indent + "}\n";
    }
    for (size_t i : byCluster_[path]) { // operator[]: a cluster may hold only sub-clusters
      const TraceNode &node = model_.trace.nodes[i];
      bool layer = node.kind == TraceNode::Kind::Layer;
      out += fmt::format("{}n{} [label={}{}];\n", indent, i,
                         dotQuote(fmt::format("{}\n{}", label(node), shape(node.output))),
                         layer ? "" : ", fillcolor=\"#f5f5f5\"");
    }
    return out;
  }

  const CheckedModel &model_;
  const SourceManager &sources_;
  std::map<std::string, const ModuleInst *> modules_;
  std::map<int, std::string> producer_;
  std::map<std::string, std::vector<size_t>> byCluster_;
  std::vector<std::string> clusterOrder_; // cluster paths, by their first node
};

// ---- The IR graph -----------------------------------------------------------------

std::string pairText(const int64_t *v) {
  return v[0] == v[1] ? std::to_string(v[0]) : fmt::format("{}x{}", v[0], v[1]);
}

std::string irAttributes(const ir::Node &node) {
  const ir::Attrs &a = node.attrs;
  switch (node.kind) {
  case ir::OpKind::Conv2d:
    return fmt::format("k={} s={} p={}{}", pairText(a.kernel), pairText(a.stride), pairText(a.pad),
                       a.groups != 1 ? fmt::format(" g={}", a.groups) : "");
  case ir::OpKind::MaxPool2d:
  case ir::OpKind::AvgPool2d:
    return fmt::format("k={} s={} p={}", pairText(a.kernel), pairText(a.stride), pairText(a.pad));
  case ir::OpKind::ConvTranspose2d:
    return fmt::format("k={} s={} p={}{}", pairText(a.kernel), pairText(a.stride), pairText(a.pad),
                       a.groups != 1 ? fmt::format(" g={}", a.groups) : "");
  case ir::OpKind::GroupNorm: return fmt::format("groups={}", a.groups);
  case ir::OpKind::Upsample: return a.bilinear ? "bilinear" : "nearest";
  case ir::OpKind::Softmax: return fmt::format("dim={}{}", a.dim, a.log ? " log" : "");
  case ir::OpKind::Concat: return fmt::format("dim={}", a.dim);
  case ir::OpKind::Unary: return ir::name(a.unary);
  case ir::OpKind::Binary: return ir::name(a.binary);
  case ir::OpKind::Scalar: return fmt::format("{} {}", ir::name(a.binary), a.scalar);
  default: return "";
  }
}

std::string epilogueText(const ir::EpilogueOp &op) {
  switch (op.kind) {
  case ir::EpilogueOp::Kind::Bias: return "+bias";
  case ir::EpilogueOp::Kind::ChannelAffine: return "*scale+shift";
  case ir::EpilogueOp::Kind::Unary: return ir::name(op.unary);
  case ir::EpilogueOp::Kind::AddTensor: return fmt::format("+v{}", op.tensor);
  case ir::EpilogueOp::Kind::MulTensor: return fmt::format("*v{}", op.tensor);
  case ir::EpilogueOp::Kind::Scalar:
    return op.reversed ? fmt::format("{}({}, x)", ir::name(op.scalarOp), op.scalar)
                       : fmt::format("{}(x, {})", ir::name(op.scalarOp), op.scalar);
  }
  return "?";
}

std::string irNodeLabel(const ir::Graph &graph, const ir::Node &node) {
  std::string text = ir::name(node.kind);
  if (std::string attrs = irAttributes(node); !attrs.empty())
    text += " " + attrs;
  if (!node.name.empty())
    text = node.name + ": " + text;
  if (!node.epilogue.empty()) {
    std::vector<std::string> steps;
    for (const ir::EpilogueOp &op : node.epilogue)
      steps.push_back(epilogueText(op));
    text += fmt::format("\nfused: {}", fmt::join(steps, ", "));
  }
  const ir::Value &out = graph.value(node.output);
  return fmt::format("{}\nv{} {}", text, out.id, out.shape.str());
}

} // namespace

std::string dotQuote(const std::string &text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string layerGraphDot(const CheckedModel &model, const SourceManager &sources) {
  return LayerGraph(model, sources).dot();
}

std::string irGraphDot(const ir::Graph &graph) {
  std::string out = fmt::format("digraph {} {{\n", dotQuote(graph.modelName));
  out += fmt::format("  label={};\n", dotQuote(fmt::format("{} (IR after the passes)", graph.modelName)));
  out += kHeader;
  std::map<int, std::string> producer;
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    const ir::Value &v = graph.value(graph.inputs[i]);
    producer[v.id] = fmt::format("in{}", i);
    std::string name = i < graph.inputNames.size() ? graph.inputNames[i] : v.name;
    out += endpoint(producer[v.id], fmt::format("{}\nv{} {}", name, v.id, v.shape.str()));
  }
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const ir::Node &node = graph.nodes[i];
    producer[node.output] = fmt::format("n{}", i);
    bool aliasing = node.kind == ir::OpKind::Reshape || node.kind == ir::OpKind::Copy;
    out += fmt::format("  n{} [label={}{}];\n", i, dotQuote(irNodeLabel(graph, node)),
                       aliasing ? ", fillcolor=\"#f5f5f5\"" : "");
  }
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const ir::Node &node = graph.nodes[i];
    for (int input : node.inputs)
      if (producer.count(input))
        out += fmt::format("  {} -> n{};\n", producer[input], i);
    for (const ir::EpilogueOp &op : node.epilogue)
      if (op.tensor >= 0 && producer.count(op.tensor))
        out += fmt::format("  {} -> n{} [style=dashed, label=\"fused\", fontsize=8];\n",
                           producer[op.tensor], i);
  }
  if (producer.count(graph.output)) {
    const ir::Value &v = graph.value(graph.output);
    out += endpoint("out", fmt::format("output\nv{} {}", v.id, v.shape.str()));
    out += fmt::format("  {} -> out;\n", producer[graph.output]);
  }
  return out + "}\n";
}

} // namespace seq::tools
