// tp_kv_page_manager: control plane of the paged KV cache (docs/kv-cache.md).
//
// Owns a pool of NumPages physical pages of PageSize tokens (the K/V bytes
// live in external memory, behind the KV data port, not here), a page table
// per sequence and per shared prefix, a reference count per page and the free
// list. Golden twin: tp::KvPages (golden/kv_pages.h), the same commands and
// the same policy, response for response.
//
// Tables: sequences 0 .. MaxSeqs-1 and prefixes 0 .. MaxPrefixes-1 (table
// MaxSeqs + prefix). A table holds a length in tokens and ceil(len / PageSize)
// page-table entries; a page's reference count is the number of tables
// holding it. Prefixes hold whole pages only (MAKE_PREFIX releases a partial
// last page), so every shared page is full and APPEND never writes into one.
// Free list: a stack of freed pages above a watermark of never-used pages;
// allocation pops the most recently freed page, else takes page `watermark`
// (so reset frees the whole pool in one cycle, without initialising RAM).
//
// Request stream (req_*, valid/ready): op, seq, prefix, pos.
//   op 0 OPEN(seq)                 BAD_STATE if the sequence is open
//   op 1 OPEN(seq, prefix)         ... or the prefix is empty; the sequence
//                                  starts at the prefix's length, holding its
//                                  pages (reference count + 1 each)
//   op 2 APPEND(seq)               BAD_STATE if closed or at MaxSeqLen;
//                                  NO_FREE_PAGE if the new token starts a page
//                                  and the pool is empty (nothing changes)
//   op 3 TRANSLATE(seq, pos)       REFUSED if the sequence is closed or
//                                  pos >= its length
//   op 4 CLOSE(seq)                releases every page it holds (freed at 0)
//   op 5 MAKE_PREFIX(seq, prefix)  BAD_STATE if the sequence is closed, holds
//                                  no whole page, or the prefix is in use; its
//                                  whole pages move to the prefix, a partial
//                                  last page is released, the sequence closes
//   op 6 DROP_PREFIX(prefix)       BAD_STATE if empty; releases its pages
//   op 7 reserved                  BAD_ID
//   Ids beyond MaxSeqs / MaxPrefixes (of the ids the op uses): BAD_ID.
// Response stream (rsp_*, valid/ready, one per request, in order): status
//   0 OK, 1 NO_FREE_PAGE, 2 REFUSED, 3 BAD_ID, 4 BAD_STATE (priority BAD_ID >
//   BAD_STATE/REFUSED > NO_FREE_PAGE); page and slot (APPEND: the new token's,
//   TRANSLATE: pos's), len (APPEND: length after it, TRANSLATE: the length,
//   OPEN: initial length, MAKE_PREFIX: the prefix's length); every field a
//   command does not define, and all but the status of an error, is 0.
//   Only OK changes stored state. The response outputs come from flops.
//
// Latency (request accepted at edge k, response moves at edge k + L with the
// sink ready; bench.h convention): L = 2 + W, where W is the page-table
// entries walked, one per cycle: OPEN(seq, prefix) the prefix's pages, CLOSE
// and MAKE_PREFIX ceil(len / PageSize) of the sequence, DROP_PREFIX the
// prefix's pages; W = 0 for OPEN, APPEND, TRANSLATE and every error. One
// command at a time: req_ready_o is high (from a flop) from the cycle the
// previous response is valid, so back to back the interval is L too.
//
// Status outputs: free_pages_o + used_pages_o = NumPages (combinational from
// the stack pointer and watermark); event counters (cleared by reset, wrap):
// pages allocated, pages freed, REFUSED and NO_FREE_PAGE responses.
//
// Reset (synchronous, active low): every table closed, every page free,
// counters 0. No RAM is reset: an entry is only read after it was written.
//
// Resources (defaults 64 pages, 8 + 4 tables, 16-token pages, 1024 tokens):
// page table 768 x 6 bits in one block RAM (synchronous read, the read
// register is the walk's pipeline stage), free stack 64 x 6 and reference
// counts 64 x 4 in LUT RAM (asynchronous read), table lengths 12 x 11 in LUT
// RAM, 251 flops of control (128 of them the four event counters), no DSP.
module tp_kv_page_manager #(
  parameter int unsigned NumPages     = 64,                 // physical pages in the pool, >= 2
  parameter int unsigned MaxSeqs      = 8,                  // sequence ids 0 .. MaxSeqs-1, >= 1
  parameter int unsigned MaxPrefixes  = 4,                  // prefix ids 0 .. MaxPrefixes-1, >= 1
  parameter int unsigned PageSize     = tp_pkg::PageSize,   // tokens per page, power of two >= 2
  parameter int unsigned MaxSeqLen    = tp_pkg::MaxSeqLen,  // tokens per sequence, power of two > PageSize
  parameter int unsigned IdWidth      = 8,                  // seq / prefix id fields (ids beyond the maxima: BAD_ID)
  parameter int unsigned PosWidth     = 16,                 // position field, 2^PosWidth > MaxSeqLen
  parameter int unsigned CounterWidth = 32                  // event counters (wrap around)
) (
  input  logic                               clk_i,
  input  logic                               rst_ni,          // synchronous reset, active low
  // Request stream.
  input  logic                               req_valid_i,
  output logic                               req_ready_o,     // from a flop: high while idle
  input  logic [2:0]                         req_op_i,
  input  logic [IdWidth-1:0]                 req_seq_i,
  input  logic [IdWidth-1:0]                 req_prefix_i,
  input  logic [PosWidth-1:0]                req_pos_i,
  // Response stream (latency 2 + pages walked).
  output logic                               rsp_valid_o,
  input  logic                               rsp_ready_i,
  output logic [2:0]                         rsp_status_o,
  output logic [$clog2(NumPages)-1:0]        rsp_page_o,
  output logic [$clog2(PageSize)-1:0]        rsp_slot_o,
  output logic [$clog2(MaxSeqLen + 1)-1:0]   rsp_len_o,
  // Host-visible status and counters.
  output logic [$clog2(NumPages + 1)-1:0]    free_pages_o,
  output logic [$clog2(NumPages + 1)-1:0]    used_pages_o,
  output logic [CounterWidth-1:0]            allocs_o,        // pages allocated
  output logic [CounterWidth-1:0]            frees_o,         // pages returned to the pool
  output logic [CounterWidth-1:0]            refusals_o,      // REFUSED responses
  output logic [CounterWidth-1:0]            exhaustions_o    // NO_FREE_PAGE responses
);

  localparam int unsigned PageW       = $clog2(NumPages);
  localparam int unsigned CountW      = $clog2(NumPages + 1);
  localparam int unsigned SlotW       = $clog2(PageSize);
  localparam int unsigned LenW        = $clog2(MaxSeqLen + 1);
  localparam int unsigned PagesPerSeq = MaxSeqLen / PageSize;
  localparam int unsigned IdxW        = $clog2(PagesPerSeq);
  localparam int unsigned WalkW       = IdxW + 1;           // 0 .. PagesPerSeq
  localparam int unsigned NumTables   = MaxSeqs + MaxPrefixes;
  localparam int unsigned TblW        = $clog2(NumTables);
  localparam int unsigned RefW        = $clog2(NumTables + 1);  // a page has at most one holder per table

  localparam logic [2:0] OpOpen         = 3'd0;
  localparam logic [2:0] OpOpenPrefixed = 3'd1;
  localparam logic [2:0] OpAppend       = 3'd2;
  localparam logic [2:0] OpTranslate    = 3'd3;
  localparam logic [2:0] OpClose        = 3'd4;
  localparam logic [2:0] OpMakePrefix   = 3'd5;
  localparam logic [2:0] OpDropPrefix   = 3'd6;

  localparam logic [2:0] StOk         = 3'd0;
  localparam logic [2:0] StNoFreePage = 3'd1;
  localparam logic [2:0] StRefused    = 3'd2;
  localparam logic [2:0] StBadId      = 3'd3;
  localparam logic [2:0] StBadState   = 3'd4;

  // ------------------------------------------------------ parameter check ---
  if (NumPages < 2) begin : gen_pages_check
    $error("tp_kv_page_manager: NumPages must be >= 2");
  end
  if (MaxSeqs < 1 || MaxPrefixes < 1) begin : gen_tables_check
    $error("tp_kv_page_manager: MaxSeqs and MaxPrefixes must be >= 1");
  end
  if (PageSize < 2 || (PageSize & (PageSize - 1)) != 0) begin : gen_page_size_check
    $error("tp_kv_page_manager: PageSize must be a power of two >= 2");
  end
  if (MaxSeqLen <= PageSize || (MaxSeqLen & (MaxSeqLen - 1)) != 0) begin : gen_seq_len_check
    $error("tp_kv_page_manager: MaxSeqLen must be a power of two > PageSize");
  end
  if (IdWidth < $clog2(MaxSeqs + MaxPrefixes) || IdWidth > 16) begin : gen_id_check
    $error("tp_kv_page_manager: IdWidth must be in [$clog2(MaxSeqs + MaxPrefixes), 16]");
  end
  if (PosWidth > 30 || (1 << PosWidth) <= MaxSeqLen) begin : gen_pos_check
    $error("tp_kv_page_manager: PosWidth must be <= 30 with 2^PosWidth > MaxSeqLen");
  end

  // ------------------------------------------------------------- storage ---
  // Page tables: entry {table, logical page} -> physical page. Synchronous
  // read (block RAM), one read and one write port.
  (* ram_style = "block" *) logic [PageW-1:0] pt_mem [NumTables * PagesPerSeq];
  // Reference counts and the free stack: asynchronous read (LUT RAM).
  (* ram_style = "distributed" *) logic [RefW-1:0]  rc_mem [NumPages];
  (* ram_style = "distributed" *) logic [PageW-1:0] fs_mem [NumPages];
  // Table lengths in tokens (meaningful while the table is in use).
  logic [LenW-1:0] len_mem [NumTables];

  // ------------------------------------------------------------- control ---
  typedef enum logic [1:0] {
    StateIdle = 2'd0,  // ready for a request
    StateExec = 2'd1,  // decide and apply (waits for the response register)
    StateWalk = 2'd2   // one page-table entry per cycle
  } state_e;

  state_e                state_q;
  logic [NumTables-1:0]  used_q;                // table in use (sequence open / prefix registered)
  logic [CountW-1:0]     sp_q;                  // free-stack depth
  logic [CountW-1:0]     wm_q;                  // watermark: pages >= wm_q never used
  logic [CounterWidth-1:0] allocs_q, frees_q, refusals_q, exhaustions_q;
  // The request being executed.
  logic [2:0]            op_q;
  logic [IdWidth-1:0]    seq_q, prefix_q;
  logic [PosWidth-1:0]   pos_q;
  // The walk.
  logic [TblW-1:0]       walk_src_q, walk_dst_q;
  logic [WalkW-1:0]      walk_total_q;          // entries to walk, >= 1
  logic [WalkW-1:0]      walk_copy_q;           // entries 0 .. copy-1 are copied to dst, the rest released
  logic                  walk_inc_q;            // copied entries gain a reference
  logic [WalkW-1:0]      walk_idx_q;            // entry whose page is in pt_rdata_q
  // Response register.
  logic                  rsp_valid_q;
  logic [2:0]            rsp_status_q;
  logic [PageW-1:0]      rsp_page_q;
  logic [SlotW-1:0]      rsp_slot_q;
  logic [LenW-1:0]       rsp_len_q;

  logic                  req_fire, rsp_free, exec, walk_step, walk_last;

  assign req_ready_o = state_q == StateIdle;
  assign req_fire    = req_valid_i & req_ready_o;
  assign rsp_free    = ~rsp_valid_q | rsp_ready_i;
  assign exec        = (state_q == StateExec) & rsp_free;
  assign walk_step   = state_q == StateWalk;
  assign walk_last   = walk_idx_q + 1'b1 == walk_total_q;

  // ----------------------------------------------------- decode (StateExec) ---
  logic [TblW-1:0]  seq_tbl, pfx_tbl;
  logic             seq_ok, pfx_ok, seq_used, pfx_used;
  logic [LenW-1:0]  seq_len, pfx_len;
  logic [WalkW-1:0] seq_whole, seq_pages, pfx_pages;
  logic             needs_page, pool_empty;
  logic [PageW-1:0] alloc_page;

  assign seq_ok     = {{(32 - IdWidth){1'b0}}, seq_q} < MaxSeqs;
  assign pfx_ok     = {{(32 - IdWidth){1'b0}}, prefix_q} < MaxPrefixes;
  assign seq_tbl    = seq_q[TblW-1:0];
  assign pfx_tbl    = TblW'(MaxSeqs) + prefix_q[TblW-1:0];
  assign seq_used   = used_q[seq_tbl];
  assign pfx_used   = used_q[pfx_tbl];
  assign seq_len    = len_mem[seq_tbl];
  assign pfx_len    = len_mem[pfx_tbl];
  assign seq_whole  = seq_len[LenW-1:SlotW];
  assign seq_pages  = seq_whole + {{(WalkW - 1){1'b0}}, |seq_len[SlotW-1:0]};
  assign pfx_pages  = pfx_len[LenW-1:SlotW];
  assign needs_page = seq_len[SlotW-1:0] == '0;
  assign pool_empty = (sp_q == '0) && (wm_q == CountW'(NumPages));
  assign alloc_page = (sp_q != '0) ? fs_mem[PageW'(sp_q - 1'b1)] : wm_q[PageW-1:0];

  logic [2:0]       status;
  logic             start_walk;  // an OK command that walks page-table entries
  logic [TblW-1:0]  walk_src, walk_dst;
  logic [WalkW-1:0] walk_total, walk_copy;
  logic             walk_inc;

  always_comb begin
    status     = StOk;
    start_walk = 1'b0;
    walk_src   = seq_tbl;
    walk_dst   = pfx_tbl;
    walk_total = seq_pages;
    walk_copy  = '0;
    walk_inc   = 1'b0;
    unique case (op_q)
      OpOpen: begin
        if (!seq_ok) status = StBadId;
        else if (seq_used) status = StBadState;
      end
      OpOpenPrefixed: begin
        if (!seq_ok || !pfx_ok) status = StBadId;
        else if (seq_used || !pfx_used) status = StBadState;
        walk_src   = pfx_tbl;
        walk_dst   = seq_tbl;
        walk_total = pfx_pages;
        walk_copy  = pfx_pages;
        walk_inc   = 1'b1;
        start_walk = 1'b1;
      end
      OpAppend: begin
        if (!seq_ok) status = StBadId;
        else if (!seq_used || seq_len == LenW'(MaxSeqLen)) status = StBadState;
        else if (needs_page && pool_empty) status = StNoFreePage;
      end
      OpTranslate: begin
        if (!seq_ok) status = StBadId;
        else if (!seq_used || {{(32 - PosWidth){1'b0}}, pos_q} >= {{(32 - LenW){1'b0}}, seq_len}) begin
          status = StRefused;
        end
      end
      OpClose: begin
        if (!seq_ok) status = StBadId;
        else if (!seq_used) status = StBadState;
        start_walk = 1'b1;
      end
      OpMakePrefix: begin
        if (!seq_ok || !pfx_ok) status = StBadId;
        else if (!seq_used || pfx_used || seq_whole == '0) status = StBadState;
        walk_copy  = seq_whole;
        start_walk = 1'b1;
      end
      OpDropPrefix: begin
        if (!pfx_ok) status = StBadId;
        else if (!pfx_used) status = StBadState;
        walk_src   = pfx_tbl;
        walk_total = pfx_pages;
        start_walk = 1'b1;
      end
      default: status = StBadId;
    endcase
    if (status != StOk || walk_total == '0) start_walk = 1'b0;
  end

  logic ok_exec, appending, allocating;
  assign ok_exec    = exec & (status == StOk);
  assign appending  = ok_exec & (op_q == OpAppend);
  assign allocating = appending & needs_page;

  // ------------------------------------------------------ page-table RAM ---
  logic [TblW+IdxW-1:0] pt_raddr, pt_waddr;
  logic                 pt_re, pt_we;
  logic [PageW-1:0]     pt_wdata, pt_rdata_q;
  logic                 walk_copying;
  logic [IdxW-1:0]      req_idx;

  assign walk_copying = walk_step & (walk_idx_q < walk_copy_q);
  // At acceptance the entry a TRANSLATE or an APPEND may need is read, so the
  // page is in pt_rdata_q when the command executes.
  assign req_idx = (req_op_i == OpTranslate) ? req_pos_i[SlotW +: IdxW]
                                             : len_mem[req_seq_i[TblW-1:0]][SlotW +: IdxW];

  always_comb begin
    pt_re    = 1'b0;
    pt_raddr = {req_seq_i[TblW-1:0], req_idx};
    if (req_fire) begin
      pt_re = 1'b1;
    end else if (exec && start_walk) begin
      pt_re    = 1'b1;
      pt_raddr = {walk_src, {IdxW{1'b0}}};
    end else if (walk_step && !walk_last) begin
      pt_re    = 1'b1;
      pt_raddr = {walk_src_q, walk_idx_q[IdxW-1:0] + 1'b1};
    end
    pt_we    = allocating | walk_copying;
    pt_waddr = allocating ? {seq_tbl, seq_len[SlotW +: IdxW]} : {walk_dst_q, walk_idx_q[IdxW-1:0]};
    pt_wdata = allocating ? alloc_page : pt_rdata_q;
  end

  // ------------------------------------ reference counts and free stack ---
  logic [RefW-1:0] rc_rdata;
  logic            rc_we, walk_release, push;
  logic [PageW-1:0] rc_waddr;
  logic [RefW-1:0] rc_wdata;

  assign rc_rdata     = rc_mem[pt_rdata_q];
  assign walk_release = walk_step & ~walk_copying;
  assign push         = walk_release & (rc_rdata == RefW'(1));

  always_comb begin
    rc_we    = allocating | walk_release | (walk_copying & walk_inc_q);
    rc_waddr = allocating ? alloc_page : pt_rdata_q;
    rc_wdata = allocating ? RefW'(1) : walk_release ? rc_rdata - 1'b1 : rc_rdata + 1'b1;
  end

  // ------------------------------------------------------- table lengths ---
  logic            len_we;
  logic [TblW-1:0] len_waddr;
  logic [LenW-1:0] len_wdata;

  always_comb begin
    len_we    = ok_exec;
    len_waddr = seq_tbl;
    len_wdata = '0;  // OPEN
    unique case (op_q)
      OpOpen: ;
      OpOpenPrefixed: len_wdata = pfx_len;
      OpAppend:       len_wdata = seq_len + 1'b1;
      OpMakePrefix: begin
        len_waddr = pfx_tbl;
        len_wdata = {seq_whole, {SlotW{1'b0}}};
      end
      default: len_we = 1'b0;  // CLOSE, DROP_PREFIX: the length of an unused table is not read
    endcase
  end

  // Memory ports (no reset): one write port each; the page-table read is
  // synchronous, the others are asynchronous.
  always_ff @(posedge clk_i) begin
    if (pt_we) pt_mem[pt_waddr] <= pt_wdata;
    if (pt_re) pt_rdata_q <= pt_mem[pt_raddr];
    if (rc_we) rc_mem[rc_waddr] <= rc_wdata;
    if (push) fs_mem[sp_q[PageW-1:0]] <= pt_rdata_q;
    if (len_we) len_mem[len_waddr] <= len_wdata;
  end

  // ---------------------------------------------------------- state, FSM ---
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      state_q       <= StateIdle;
      used_q        <= '0;
      sp_q          <= '0;
      wm_q          <= '0;
      rsp_valid_q   <= 1'b0;
      allocs_q      <= '0;
      frees_q       <= '0;
      refusals_q    <= '0;
      exhaustions_q <= '0;
    end else begin
      if (rsp_ready_i) rsp_valid_q <= 1'b0;
      unique case (state_q)
        StateIdle: if (req_fire) state_q <= StateExec;
        StateExec: if (exec) begin
          if (start_walk) begin
            state_q <= StateWalk;
          end else begin
            state_q     <= StateIdle;
            rsp_valid_q <= 1'b1;
          end
        end
        StateWalk: if (walk_last) begin
          state_q     <= StateIdle;
          rsp_valid_q <= 1'b1;
        end
        default: state_q <= StateIdle;
      endcase
      if (ok_exec) begin
        unique case (op_q)
          OpOpen, OpOpenPrefixed: used_q[seq_tbl] <= 1'b1;
          OpClose:                used_q[seq_tbl] <= 1'b0;
          OpMakePrefix: begin
            used_q[seq_tbl] <= 1'b0;
            used_q[pfx_tbl] <= 1'b1;
          end
          OpDropPrefix:           used_q[pfx_tbl] <= 1'b0;
          default: ;
        endcase
      end
      if (allocating) begin
        if (sp_q != '0) sp_q <= sp_q - 1'b1;
        else wm_q <= wm_q + 1'b1;
        allocs_q <= allocs_q + 1'b1;
      end
      if (push) begin
        sp_q    <= sp_q + 1'b1;
        frees_q <= frees_q + 1'b1;
      end
      if (exec && status == StRefused) refusals_q <= refusals_q + 1'b1;
      if (exec && status == StNoFreePage) exhaustions_q <= exhaustions_q + 1'b1;
    end
  end

  // Request, walk and response registers: no reset (qualified by the state).
  always_ff @(posedge clk_i) begin
    if (req_fire) begin
      op_q     <= req_op_i;
      seq_q    <= req_seq_i;
      prefix_q <= req_prefix_i;
      pos_q    <= req_pos_i;
    end
    if (exec && start_walk) begin
      walk_src_q   <= walk_src;
      walk_dst_q   <= walk_dst;
      walk_total_q <= walk_total;
      walk_copy_q  <= walk_copy;
      walk_inc_q   <= walk_inc;
      walk_idx_q   <= '0;
    end else if (walk_step) begin
      walk_idx_q <= walk_idx_q + 1'b1;
    end
    if (exec) begin
      rsp_status_q <= status;
      rsp_page_q   <= '0;
      rsp_slot_q   <= '0;
      rsp_len_q    <= '0;
      if (status == StOk) begin
        unique case (op_q)
          OpOpenPrefixed: rsp_len_q <= pfx_len;
          OpAppend: begin
            rsp_page_q <= needs_page ? alloc_page : pt_rdata_q;
            rsp_slot_q <= seq_len[SlotW-1:0];
            rsp_len_q  <= seq_len + 1'b1;
          end
          OpTranslate: begin
            rsp_page_q <= pt_rdata_q;
            rsp_slot_q <= pos_q[SlotW-1:0];
            rsp_len_q  <= seq_len;
          end
          OpMakePrefix: rsp_len_q <= {seq_whole, {SlotW{1'b0}}};
          default: ;
        endcase
      end
    end
  end

  assign rsp_valid_o   = rsp_valid_q;
  assign rsp_status_o  = rsp_status_q;
  assign rsp_page_o    = rsp_page_q;
  assign rsp_slot_o    = rsp_slot_q;
  assign rsp_len_o     = rsp_len_q;
  assign free_pages_o  = CountW'(NumPages) - wm_q + sp_q;
  assign used_pages_o  = wm_q - sp_q;
  assign allocs_o      = allocs_q;
  assign frees_o       = frees_q;
  assign refusals_o    = refusals_q;
  assign exhaustions_o = exhaustions_q;

  // ----------------------------------------------------------- assertions ---
`ifndef SYNTHESIS
  tp_stream_checker #(.Width(3 + 2 * IdWidth + PosWidth), .Name("tp_kv_page_manager req")) u_req_check (
    .clk_i, .rst_ni, .valid_i(req_valid_i), .ready_i(req_ready_o),
    .data_i({req_op_i, req_seq_i, req_prefix_i, req_pos_i})
  );
  tp_stream_checker #(.Width(3 + PageW + SlotW + LenW), .Name("tp_kv_page_manager rsp")) u_rsp_check (
    .clk_i, .rst_ni, .valid_i(rsp_valid_o), .ready_i(rsp_ready_i),
    .data_i({rsp_status_o, rsp_page_o, rsp_slot_o, rsp_len_o})
  );

  always_ff @(posedge clk_i) begin
    if (rst_ni) begin
      assert (sp_q <= wm_q && wm_q <= CountW'(NumPages))
        else $error("tp_kv_page_manager: free stack %0d / watermark %0d inconsistent", sp_q, wm_q);
      // Isolation: a translated page is held; an appended token goes into a
      // page its sequence holds alone (never into a shared prefix page); an
      // allocated page was free.
      if (ok_exec && op_q == OpTranslate) begin
        assert (rc_rdata != '0)
          else $error("tp_kv_page_manager: TRANSLATE gives page %0d, which no table holds", pt_rdata_q);
      end
      if (appending && !needs_page) begin
        assert (rc_rdata == RefW'(1))
          else $error("tp_kv_page_manager: APPEND writes into page %0d held %0d times", pt_rdata_q, rc_rdata);
      end
      if (allocating && sp_q != '0) begin  // (a never-used page has no count yet)
        assert (rc_mem[alloc_page] == '0)
          else $error("tp_kv_page_manager: allocating freed page %0d, which is held", alloc_page);
      end
      if (walk_release) begin
        assert (rc_rdata != '0)
          else $error("tp_kv_page_manager: releasing free page %0d", pt_rdata_q);
      end
      if (walk_copying && walk_inc_q) begin
        assert (rc_rdata != '0 && rc_rdata < RefW'(NumTables))
          else $error("tp_kv_page_manager: sharing page %0d held %0d times", pt_rdata_q, rc_rdata);
      end
    end
  end
`endif

endmodule
