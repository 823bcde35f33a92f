// ElfMerge: joining relocatable ELF64 objects into one (ElfMerge.h).
#include "codegen/ElfMerge.h"

#include <llvm/ADT/StringMap.h>
#include <llvm/BinaryFormat/ELF.h>
#include <llvm/Object/ELF.h>
#include <llvm/Support/MathExtras.h>

#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace seq::codegen {

using namespace llvm;

namespace {

using ELFT = object::ELF64LE;
using Ehdr = ELFT::Ehdr;
using Shdr = ELFT::Shdr;
using Sym = ELFT::Sym;
using Rela = ELFT::Rela;

Error refuse(const Twine &why) {
  return createStringError(inconvertibleErrorCode(), "internal compiler error: cannot join the partitions' objects: " +
                                                         why);
}

struct OutSection {
  std::string name;
  uint32_t type = 0;
  uint64_t flags = 0, align = 1, entsize = 0;
  std::vector<char> bytes;
  uint64_t size = 0;
  std::vector<Rela> relas;
  uint32_t symbol = 0;                // its section symbol
  uint32_t index = 0, relaIndex = 0;  // in the output's section table
};

struct Piece {
  int out = -1;   // output section, -1 for none
  uint64_t base = 0;
};

struct Input {
  object::ELFFile<ELFT> file;
  std::vector<Piece> pieces;      // per input section
  const Shdr *symtab = nullptr;
  std::vector<uint32_t> symbols;  // per input symbol: the output symbol
};

class StringTable {
public:
  uint32_t add(StringRef s) {
    if (s.empty())
      return 0;
    auto [it, inserted] = offsets_.try_emplace(s, uint32_t(data_.size()));
    if (inserted) {
      data_.append(s.data(), s.size());
      data_.push_back('\0');
    }
    return it->second;
  }
  const std::string &data() const { return data_; }

private:
  std::string data_{'\0'};
  StringMap<uint32_t> offsets_;
};

bool contentType(uint32_t type, uint16_t machine) {
  switch (type) {
  case ELF::SHT_PROGBITS:
  case ELF::SHT_NOBITS:
  case ELF::SHT_NOTE:
  case ELF::SHT_INIT_ARRAY:
  case ELF::SHT_FINI_ARRAY: return true;
  case ELF::SHT_X86_64_UNWIND: return machine == ELF::EM_X86_64;
  default: return false;
  }
}

class Merger {
public:
  Merger(const StringSet<> &localise) : localise_(localise) {}

  Error add(MemoryBufferRef object) {
    auto file = object::ELFFile<ELFT>::create(object.getBuffer());
    if (!file)
      return file.takeError();
    const Ehdr &h = file->getHeader();
    if (h.e_ident[ELF::EI_CLASS] != ELF::ELFCLASS64 || h.e_ident[ELF::EI_DATA] != ELF::ELFDATA2LSB ||
        h.e_type != ELF::ET_REL)
      return refuse("not a relocatable ELF64 little-endian object");
    if (!inputs_.empty() && h.e_machine != inputs_[0].file.getHeader().e_machine)
      return refuse("the objects are for different machines");
    inputs_.push_back({std::move(*file), {}, nullptr, {}});
    return placeSections(inputs_.back());
  }

  Error merge(SmallVectorImpl<char> &out) {
    if (inputs_.empty())
      return refuse("no objects");
    if (Error e = mapSymbols())
      return e;
    for (Input &in : inputs_)
      if (Error e = moveRelocations(in))
        return e;
    return write(out);
  }

private:
  Error placeSections(Input &in) {
    auto sections = in.file.sections();
    if (!sections)
      return sections.takeError();
    in.pieces.resize(sections->size());
    uint16_t machine = in.file.getHeader().e_machine;
    for (size_t i = 0; i < sections->size(); ++i) {
      const Shdr &s = (*sections)[i];
      if (s.sh_type == ELF::SHT_SYMTAB) {
        if (in.symtab)
          return refuse("two symbol tables");
        in.symtab = &s;
        continue;
      }
      if (s.sh_type == ELF::SHT_NULL || s.sh_type == ELF::SHT_STRTAB || s.sh_type == ELF::SHT_RELA)
        continue;
      if (!contentType(s.sh_type, machine) || (s.sh_flags & (ELF::SHF_GROUP | ELF::SHF_LINK_ORDER)))
        return refuse("a section of type " + Twine(s.sh_type) + " or flags " + Twine(s.sh_flags));
      auto name = in.file.getSectionName(s);
      if (!name)
        return name.takeError();
      std::string key = name->str() + '\0' + std::to_string(s.sh_type) + ',' + std::to_string(s.sh_flags) + ',' +
                        std::to_string(s.sh_entsize);
      auto [it, inserted] = sectionByKey_.insert({key, outs_.size()});
      if (inserted) {
        OutSection o;
        o.name = name->str();
        o.type = s.sh_type;
        o.flags = s.sh_flags;
        o.entsize = s.sh_entsize;
        outs_.push_back(std::move(o));
      }
      OutSection &o = outs_[it->second];
      uint64_t align = std::max<uint64_t>(1, s.sh_addralign);
      o.align = std::max(o.align, align);
      uint64_t base = alignTo(o.size, align);
      in.pieces[i] = {int(it->second), base};
      o.size = base + s.sh_size;
      if (s.sh_type != ELF::SHT_NOBITS) {
        auto bytes = in.file.getSectionContents(s);
        if (!bytes)
          return bytes.takeError();
        o.bytes.resize(base, '\0');
        o.bytes.insert(o.bytes.end(), bytes->begin(), bytes->end());
      }
    }
    return Error::success();
  }

  // Output symbol order: null, the first input's file symbol, one section
  // symbol per output section, every input's locals, the localised
  // globals, then the globals: definitions, then undefined names.
  Error mapSymbols() {
    std::vector<std::vector<Sym>> inSyms(inputs_.size());
    std::vector<StringRef> strtabs(inputs_.size());
    StringMap<std::pair<size_t, size_t>> definedAt;
    for (size_t k = 0; k < inputs_.size(); ++k) {
      Input &in = inputs_[k];
      if (!in.symtab)
        continue;
      auto syms = in.file.symbols(in.symtab);
      if (!syms)
        return syms.takeError();
      inSyms[k].assign(syms->begin(), syms->end());
      auto strtab = in.file.getStringTableForSymtab(*in.symtab);
      if (!strtab)
        return strtab.takeError();
      strtabs[k] = *strtab;
      in.symbols.assign(inSyms[k].size(), 0);
      for (size_t i = 1; i < inSyms[k].size(); ++i) {
        const Sym &s = inSyms[k][i];
        if (s.st_shndx == ELF::SHN_XINDEX || s.st_shndx == ELF::SHN_COMMON)
          return refuse("a symbol with an extended or common section index");
        if (s.getBinding() == ELF::STB_LOCAL || s.st_shndx == ELF::SHN_UNDEF)
          continue;
        auto name = s.getName(strtabs[k]);
        if (!name)
          return name.takeError();
        if (!definedAt.try_emplace(*name, k, i).second)
          return refuse("'" + *name + "' is defined twice");
      }
    }
    syms_.push_back(Sym{});
    names_.push_back("");
    sections_.push_back(-1);
    for (size_t i = 1; i < inSyms[0].size(); ++i)
      if (inSyms[0][i].getType() == ELF::STT_FILE) {
        addSymbol(inSyms[0][i], strtabs[0], -1, 0);
        break;
      }
    for (size_t o = 0; o < outs_.size(); ++o) {
      Sym s{};
      s.setBindingAndType(ELF::STB_LOCAL, ELF::STT_SECTION);
      outs_[o].symbol = uint32_t(syms_.size());
      syms_.push_back(s);
      names_.push_back("");
      sections_.push_back(int(o));
    }
    auto place = [&](size_t k, size_t i, bool local) -> Error {
      const Sym &s = inSyms[k][i];
      Piece piece;
      if (s.st_shndx != ELF::SHN_UNDEF && s.st_shndx < ELF::SHN_LORESERVE) {
        if (s.st_shndx >= inputs_[k].pieces.size() || inputs_[k].pieces[s.st_shndx].out < 0)
          return refuse("a symbol in a section that is not joined");
        piece = inputs_[k].pieces[s.st_shndx];
      }
      inputs_[k].symbols[i] = addSymbol(s, strtabs[k], piece.out, piece.base);
      if (local) {
        syms_.back().setBinding(ELF::STB_LOCAL);
        syms_.back().st_other = 0;
      }
      return Error::success();
    };
    // Locals, then the localised definitions.
    for (int pass = 0; pass < 2; ++pass)
      for (size_t k = 0; k < inSyms.size(); ++k)
        for (size_t i = 1; i < inSyms[k].size(); ++i) {
          const Sym &s = inSyms[k][i];
          if (pass == 0 && s.getBinding() == ELF::STB_LOCAL) {
            if (s.getType() == ELF::STT_SECTION) {
              if (s.st_shndx >= inputs_[k].pieces.size() || inputs_[k].pieces[s.st_shndx].out < 0)
                return refuse("a section symbol of a section that is not joined");
              inputs_[k].symbols[i] = outs_[inputs_[k].pieces[s.st_shndx].out].symbol;
            } else if (s.getType() != ELF::STT_FILE)
              if (Error e = place(k, i, true))
                return e;
          } else if (pass == 1 && s.getBinding() != ELF::STB_LOCAL && s.st_shndx != ELF::SHN_UNDEF &&
                     localise_.contains(cantFail(s.getName(strtabs[k])))) {
            if (Error e = place(k, i, true))
              return e;
          }
        }
    firstGlobal_ = uint32_t(syms_.size());
    for (size_t k = 0; k < inSyms.size(); ++k)
      for (size_t i = 1; i < inSyms[k].size(); ++i) {
        const Sym &s = inSyms[k][i];
        if (s.getBinding() != ELF::STB_LOCAL && s.st_shndx != ELF::SHN_UNDEF &&
            !localise_.contains(cantFail(s.getName(strtabs[k]))))
          if (Error e = place(k, i, false))
            return e;
      }
    StringMap<uint32_t> undefined;
    for (size_t k = 0; k < inSyms.size(); ++k)
      for (size_t i = 1; i < inSyms[k].size(); ++i) {
        const Sym &s = inSyms[k][i];
        if (s.getBinding() == ELF::STB_LOCAL || s.st_shndx != ELF::SHN_UNDEF)
          continue;
        StringRef name = cantFail(s.getName(strtabs[k]));
        if (auto it = definedAt.find(name); it != definedAt.end()) {
          inputs_[k].symbols[i] = inputs_[it->second.first].symbols[it->second.second];
        } else if (auto [u, inserted] = undefined.try_emplace(name, 0); inserted) {
          u->second = addSymbol(s, strtabs[k], -1, 0);
          inputs_[k].symbols[i] = u->second;
        } else {
          inputs_[k].symbols[i] = u->second;
        }
      }
    return Error::success();
  }

  uint32_t addSymbol(const Sym &in, StringRef strtab, int out, uint64_t base) {
    Sym s = in;
    s.st_value = in.st_value + base;
    syms_.push_back(s);
    names_.push_back(cantFail(in.getName(strtab)).str());
    sections_.push_back(out);
    return uint32_t(syms_.size() - 1);
  }

  Error moveRelocations(Input &in) {
    auto sections = in.file.sections();
    if (!sections)
      return sections.takeError();
    for (const Shdr &s : *sections) {
      if (s.sh_type != ELF::SHT_RELA)
        continue;
      if (s.sh_info >= in.pieces.size() || in.pieces[s.sh_info].out < 0)
        return refuse("relocations for a section that is not joined");
      Piece target = in.pieces[s.sh_info];
      auto relas = in.file.relas(s);
      if (!relas)
        return relas.takeError();
      auto syms = in.file.symbols(in.symtab);
      if (!syms)
        return syms.takeError();
      for (const Rela &r : *relas) {
        uint32_t symbol = r.getSymbol(false);
        Rela moved = r;
        moved.r_offset = r.r_offset + target.base;
        uint32_t outSymbol = 0;
        if (symbol != 0) {
          if (symbol >= in.symbols.size())
            return refuse("a relocation against a missing symbol");
          const Sym &s = (*syms)[symbol];
          outSymbol = in.symbols[symbol];
          if (s.getType() == ELF::STT_SECTION)
            moved.r_addend = r.r_addend + int64_t(in.pieces[s.st_shndx].base);
        }
        moved.setSymbolAndType(outSymbol, r.getType(false), false);
        outs_[target.out].relas.push_back(moved);
      }
    }
    return Error::success();
  }

  Error write(SmallVectorImpl<char> &out) {
    // Section table: null, each output section followed by its
    // relocations, the symbol table, its strings, the section names.
    uint32_t next = 1;
    for (OutSection &o : outs_) {
      o.index = next++;
      if (!o.relas.empty())
        o.relaIndex = next++;
    }
    uint32_t symtabIndex = next++, strtabIndex = next++, shstrtabIndex = next++;

    StringTable strtab, shstrtab;
    std::vector<Sym> syms = syms_;
    for (size_t i = 1; i < syms.size(); ++i) {
      syms[i].st_name = strtab.add(names_[i]);
      if (sections_[i] >= 0)
        syms[i].st_shndx = uint16_t(outs_[sections_[i]].index);
    }
    std::vector<Shdr> headers(next);
    auto append = [&](const void *data, size_t size, uint64_t align) {
      out.resize(alignTo(out.size(), align), '\0');
      uint64_t offset = out.size();
      out.append(static_cast<const char *>(data), static_cast<const char *>(data) + size);
      return offset;
    };
    out.clear();
    out.resize(sizeof(Ehdr), '\0');
    for (OutSection &o : outs_) {
      Shdr &h = headers[o.index];
      h.sh_name = shstrtab.add(o.name);
      h.sh_type = o.type;
      h.sh_flags = o.flags;
      h.sh_addralign = o.align;
      h.sh_entsize = o.entsize;
      h.sh_size = o.size;
      h.sh_offset = o.type == ELF::SHT_NOBITS ? alignTo(out.size(), o.align)
                                               : append(o.bytes.data(), o.bytes.size(), o.align);
      if (o.relas.empty())
        continue;
      Shdr &r = headers[o.relaIndex];
      r.sh_name = shstrtab.add(".rela" + o.name);
      r.sh_type = ELF::SHT_RELA;
      r.sh_flags = ELF::SHF_INFO_LINK;
      r.sh_link = symtabIndex;
      r.sh_info = o.index;
      r.sh_addralign = 8;
      r.sh_entsize = sizeof(Rela);
      r.sh_size = o.relas.size() * sizeof(Rela);
      r.sh_offset = append(o.relas.data(), r.sh_size, 8);
    }
    Shdr &st = headers[symtabIndex];
    st.sh_name = shstrtab.add(".symtab");
    st.sh_type = ELF::SHT_SYMTAB;
    st.sh_link = strtabIndex;
    st.sh_info = firstGlobal_;
    st.sh_addralign = 8;
    st.sh_entsize = sizeof(Sym);
    st.sh_size = syms.size() * sizeof(Sym);
    st.sh_offset = append(syms.data(), st.sh_size, 8);
    // .shstrtab last: naming itself adds to it
    for (auto [index, name, table] : {std::tuple{strtabIndex, ".strtab", &strtab},
                                      std::tuple{shstrtabIndex, ".shstrtab", &shstrtab}}) {
      Shdr &h = headers[index];
      h.sh_name = shstrtab.add(name);
      h.sh_type = ELF::SHT_STRTAB;
      h.sh_addralign = 1;
      h.sh_size = table->data().size();
      h.sh_offset = append(table->data().data(), h.sh_size, 1);
    }

    Ehdr header = inputs_[0].file.getHeader();
    header.e_phoff = 0;
    header.e_phnum = 0;
    header.e_phentsize = 0;
    header.e_shentsize = sizeof(Shdr);
    header.e_shnum = uint16_t(headers.size());
    header.e_shstrndx = uint16_t(shstrtabIndex);
    header.e_shoff = append(headers.data(), headers.size() * sizeof(Shdr), 8);
    std::memcpy(out.data(), &header, sizeof(header));
    return Error::success();
  }

  const StringSet<> &localise_;
  std::vector<Input> inputs_;
  std::vector<OutSection> outs_;
  std::map<std::string, size_t> sectionByKey_;
  std::vector<Sym> syms_;
  std::vector<std::string> names_;
  std::vector<int> sections_; // per output symbol: its output section, or -1
  uint32_t firstGlobal_ = 0;
};

} // namespace

Error mergeElfObjects(ArrayRef<MemoryBufferRef> objects, const StringSet<> &localise, SmallVectorImpl<char> &out) {
  Merger merger(localise);
  for (MemoryBufferRef object : objects)
    if (Error e = merger.add(object))
      return e;
  return merger.merge(out);
}

} // namespace seq::codegen
