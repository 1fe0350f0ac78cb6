// The DWARF a body's line table (FunctionBody.lines) becomes in the object gdb is handed
// (debugger.ts): .debug_abbrev, .debug_info and .debug_line, DWARF 4 with 32-bit offsets, as the
// DWARF 4 standard lays them out (sections 6.2 and 7.5). One compile unit covering the body, with
// one subprogram naming it, and one line sequence from the body's address to its end; the file
// names are whole (a relative one is relative to gdb's working directory). Addresses are
// absolute: gdb takes the object's sections where their headers put them, and this object has no
// relocations.

const encoder = new TextEncoder();

// Tags, attributes and forms (DWARF 4, section 7.5).
const DW_TAG_compile_unit = 0x11;
const DW_TAG_subprogram = 0x2e;
const DW_AT_name = 0x03;
const DW_AT_stmt_list = 0x10;
const DW_AT_low_pc = 0x11;
const DW_AT_high_pc = 0x12;
const DW_AT_producer = 0x25;
const DW_AT_external = 0x3f;
const DW_FORM_addr = 0x01;
const DW_FORM_data8 = 0x07;
const DW_FORM_string = 0x08;
const DW_FORM_sec_offset = 0x17;
const DW_FORM_flag_present = 0x19;

// The line program (section 6.2): the header's choices and the opcodes used.
const LINE_BASE = -5;
const LINE_RANGE = 14;
const OPCODE_BASE = 13;
/** The operand counts of standard opcodes 1 to 12. */
const STANDARD_LENGTHS = [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1];
const DW_LNS_copy = 1;
const DW_LNS_advance_pc = 2;
const DW_LNS_advance_line = 3;
const DW_LNS_set_file = 4;
const DW_LNE_end_sequence = 1;
const DW_LNE_set_address = 2;

/** The three sections, back to back in `bytes` (abbrev, info, line), with the first two's lengths. */
export interface DebugSections {
  readonly bytes: Uint8Array;
  readonly abbrevLength: number;
  readonly infoLength: number;
}

/** A growing byte list with the encodings DWARF uses. */
class Writer {
  bytes = new Uint8Array(256);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  u8(value: number): void {
    this.room(1);
    this.bytes[this.length++] = value;
  }

  /** Little-endian, `size` bytes, of a non-negative safe integer. */
  uint(value: number, size: number): void {
    this.room(size);
    for (let i = 0, v = value; i < size; i++, v = Math.floor(v / 256)) this.bytes[this.length++] = v % 256;
  }

  uleb(value: number): void {
    let v = value;
    do {
      const low = v % 128;
      v = Math.floor(v / 128);
      this.u8(v === 0 ? low : low | 0x80);
    } while (v !== 0);
  }

  sleb(value: number): void {
    let v = value;
    for (;;) {
      const low = ((v % 128) + 128) % 128;
      v = Math.floor(v / 128);
      const done = (v === 0 && (low & 0x40) === 0) || (v === -1 && (low & 0x40) !== 0);
      this.u8(done ? low : low | 0x80);
      if (done) return;
    }
  }

  string(text: string): void {
    const encoded = encoder.encode(text);
    this.room(encoded.length + 1);
    this.bytes.set(encoded, this.length);
    this.length += encoded.length;
    this.u8(0);
  }

  /** Writes a 4-byte length field later: `fill` sets it to the bytes written after it. */
  lengthField(): () => void {
    const at = this.length;
    this.uint(0, 4);
    return () => {
      const bytes = this.length - at - 4;
      for (let i = 0; i < 4; i++) this.bytes[at + i] = (bytes >>> (8 * i)) & 0xff;
    };
  }
}

/** The DWARF naming `name` at [address, address + size) with the source lines `files` and `rows` give. */
export function debugSections(name: string, address: number, size: number, files: readonly string[], rows: Uint32Array): DebugSections {
  const w = new Writer();
  // .debug_abbrev: 1, the compile unit (with children); 2, the subprogram; 0 ends the table.
  w.uleb(1); w.uleb(DW_TAG_compile_unit); w.u8(1);
  for (const [attribute, form] of [[DW_AT_producer, DW_FORM_string], [DW_AT_name, DW_FORM_string], [DW_AT_low_pc, DW_FORM_addr],
    [DW_AT_high_pc, DW_FORM_data8], [DW_AT_stmt_list, DW_FORM_sec_offset]]) { w.uleb(attribute!); w.uleb(form!); }
  w.u8(0); w.u8(0);
  w.uleb(2); w.uleb(DW_TAG_subprogram); w.u8(0);
  for (const [attribute, form] of [[DW_AT_name, DW_FORM_string], [DW_AT_external, DW_FORM_flag_present], [DW_AT_low_pc, DW_FORM_addr],
    [DW_AT_high_pc, DW_FORM_data8]]) { w.uleb(attribute!); w.uleb(form!); }
  w.u8(0); w.u8(0);
  w.u8(0);
  const abbrevLength = w.length;

  // .debug_info: the unit header (version 4, abbrevs at 0, 8-byte addresses), then its DIEs.
  const unitEnd = w.lengthField();
  w.uint(4, 2); w.uint(0, 4); w.u8(8);
  w.uleb(1); w.string('codeheap'); w.string(files[rows[1] ?? 0] ?? name); w.uint(address, 8); w.uint(size, 8); w.uint(0, 4);
  w.uleb(2); w.string(name); w.uint(address, 8); w.uint(size, 8);
  w.u8(0);
  unitEnd();
  const infoLength = w.length - abbrevLength;

  // .debug_line: the header (every file in directory 0, no time or size), then one sequence.
  const lineEnd = w.lengthField();
  w.uint(4, 2);
  const headerEnd = w.lengthField();
  w.u8(1); w.u8(1); w.u8(1); w.u8(LINE_BASE & 0xff); w.u8(LINE_RANGE); w.u8(OPCODE_BASE);
  for (const n of STANDARD_LENGTHS) w.u8(n);
  w.u8(0);
  for (const file of files) { w.string(file); w.uleb(0); w.uleb(0); w.uleb(0); }
  w.u8(0);
  headerEnd();
  w.u8(0); w.uleb(9); w.u8(DW_LNE_set_address); w.uint(address, 8);
  let offset = 0;
  let file = 0;
  let line = 1;
  for (let i = 0; i < rows.length; i += 3) {
    const rowFile = rows[i + 1]!;
    if (rowFile !== file) { w.u8(DW_LNS_set_file); w.uleb(rowFile + 1); file = rowFile; }
    const advance = rows[i]! - offset;
    const lineDelta = rows[i + 2]! - line;
    // A special opcode advances both and adds the row, in one byte, when they are small enough.
    const special = lineDelta - LINE_BASE + LINE_RANGE * advance + OPCODE_BASE;
    if (lineDelta >= LINE_BASE && lineDelta < LINE_BASE + LINE_RANGE && special <= 255) {
      w.u8(special);
    } else {
      if (lineDelta !== 0) { w.u8(DW_LNS_advance_line); w.sleb(lineDelta); }
      if (advance !== 0) { w.u8(DW_LNS_advance_pc); w.uleb(advance); }
      w.u8(DW_LNS_copy);
    }
    offset = rows[i]!;
    line = rows[i + 2]!;
  }
  if (size > offset) { w.u8(DW_LNS_advance_pc); w.uleb(size - offset); }
  w.u8(0); w.uleb(1); w.u8(DW_LNE_end_sequence);
  lineEnd();
  return { bytes: w.bytes.subarray(0, w.length), abbrevLength, infoLength };
}
