// tp_attention_unit: the flash-attention engine with its KV data port. The
// port appends each new token's K/V to its page in external memory and
// streams the KV segments of an attention job, one per read command, straight
// into the engine (docs/attention-engine.md, docs/kv-cache.md).
//
// A job is driven as: its query slots on q_* (tp_attention_engine) and, in
// position order, one read command per tile on rd_cmd_* naming the page that
// holds those 16 positions (from tp_kv_page_manager's page table), `last` on
// the job's final tile. Read commands may run ahead of the queries: the port
// buffers up to FifoBeats beats and the engine TileBuffers segments, so the
// next job's segments stream in while the engine finishes this one. The
// port's ordering rule makes a read issued after an append see it; a read
// with fwd = 1 may even come before the append it must see (tp_kv_port,
// "Forwarding"): decode reads a layer's segments while the new token's K/V
// are still being computed.
// A read the port refuses reaches the engine as one error beat (err_o[4]);
// the job's values are then undefined and later jobs stay in step.
// Configuration, timing, streams and counters: tp_kv_port and
// tp_attention_engine.
module tp_attention_unit #(
  parameter int unsigned AddrWidth    = 34,                 // byte address bits of the KV memory
  parameter int unsigned NumPages     = 64,                 // physical KV pages
  parameter int unsigned MaxSlots     = 16,                 // query slots per attention job
  parameter int unsigned TileBuffers  = 8,                  // KV segments buffered in the engine
  parameter int unsigned MaxSeqLen    = tp_pkg::MaxSeqLen,  // positions per sequence
  parameter int unsigned CounterWidth = 32,                 // performance counters (wrap around)
  // Derived field widths: do not override.
  parameter int unsigned PageWidth    = $clog2(NumPages) + 1,
  parameter int unsigned LayerWidth   = $clog2(tp_pkg::MaxLayers),
  parameter int unsigned HeadWidth    = $clog2(tp_pkg::MaxKvHeads),
  parameter int unsigned NLayersWidth = $clog2(tp_pkg::MaxLayers + 1),
  parameter int unsigned NHeadsWidth  = $clog2(tp_pkg::MaxKvHeads + 1)
) (
  input  logic                         clk_i,
  input  logic                         rst_ni,              // synchronous reset, active low
  // Configuration (quasi-static; change only while idle).
  input  logic [AddrWidth-1:0]         cfg_kv_base_i,       // byte address of KV page 0, multiple of 64
  input  logic [NLayersWidth-1:0]      cfg_n_layers_i,
  input  logic [NHeadsWidth-1:0]       cfg_n_kv_heads_i,
  input  logic [6:0]                   cfg_head_size_i,     // 1 .. 64
  input  logic [10:0]                  cfg_score_scale_m_i, // log2(e) / sqrt(head_size)
  input  logic [7:0]                   cfg_score_scale_e_i,
  output logic                         cfg_ok_o,            // the KV port accepts the configuration
  // KV appends (tp_kv_port wr_cmd / wr_rsp).
  input  logic                         wr_cmd_valid_i,
  output logic                         wr_cmd_ready_o,
  input  logic [PageWidth-1:0]         wr_cmd_page_i,
  input  logic [4:0]                   wr_cmd_slot_i,
  input  logic [LayerWidth-1:0]        wr_cmd_layer_i,
  input  logic [HeadWidth-1:0]         wr_cmd_kv_head_i,
  input  logic [511:0]                 wr_cmd_k_row_i,
  input  logic [511:0]                 wr_cmd_v_row_i,
  input  logic [15:0]                  wr_cmd_k_scale_i,
  input  logic [15:0]                  wr_cmd_v_scale_i,
  output logic                         wr_rsp_valid_o,
  input  logic                         wr_rsp_ready_i,
  output logic [1:0]                   wr_rsp_status_o,
  // Segment reads, one per tile (tp_kv_port rd_cmd).
  input  logic                         rd_cmd_valid_i,
  output logic                         rd_cmd_ready_o,
  input  logic [PageWidth-1:0]         rd_cmd_page_i,
  input  logic [LayerWidth-1:0]        rd_cmd_layer_i,
  input  logic [HeadWidth-1:0]         rd_cmd_kv_head_i,
  input  logic                         rd_cmd_last_i,
  input  logic                         rd_cmd_fwd_i,        // forwarding: patch in the next append to this head
  // Query slots (tp_attention_engine q).
  input  logic                         q_valid_i,
  output logic                         q_ready_o,
  input  logic [511:0]                 q_data_i,
  input  logic [10:0]                  q_scale_m_i,
  input  logic [7:0]                   q_scale_e_i,
  input  logic [$clog2(MaxSeqLen)-1:0] q_pos_i,
  input  logic                         q_last_i,
  // Attention outputs (tp_attention_engine out).
  output logic                         out_valid_o,
  input  logic                         out_ready_i,
  output logic [255:0]                 out_data_o,
  output logic [$clog2(MaxSlots)-1:0]  out_slot_o,
  output logic                         out_last_o,
  // AXI4 master of the KV memory.
  output logic                         m_axi_arvalid_o,
  input  logic                         m_axi_arready_i,
  output logic [AddrWidth-1:0]         m_axi_araddr_o,
  output logic [7:0]                   m_axi_arlen_o,
  output logic [2:0]                   m_axi_arsize_o,
  output logic [1:0]                   m_axi_arburst_o,
  input  logic                         m_axi_rvalid_i,
  output logic                         m_axi_rready_o,
  input  logic [511:0]                 m_axi_rdata_i,
  input  logic [1:0]                   m_axi_rresp_i,
  input  logic                         m_axi_rlast_i,
  output logic                         m_axi_awvalid_o,
  input  logic                         m_axi_awready_i,
  output logic [AddrWidth-1:0]         m_axi_awaddr_o,
  output logic [7:0]                   m_axi_awlen_o,
  output logic [2:0]                   m_axi_awsize_o,
  output logic [1:0]                   m_axi_awburst_o,
  output logic                         m_axi_wvalid_o,
  input  logic                         m_axi_wready_i,
  output logic [511:0]                 m_axi_wdata_o,
  output logic [63:0]                  m_axi_wstrb_o,
  output logic                         m_axi_wlast_o,
  input  logic                         m_axi_bvalid_i,
  output logic                         m_axi_bready_o,
  input  logic [1:0]                   m_axi_bresp_i,
  // Status and counters.
  output logic [4:0]                   err_o,               // tp_attention_engine err_o
  output logic                         busy_o,              // a job is resident in the engine
  output logic [CounterWidth-1:0]      perf_engine_busy_o,  // cycles with a job resident
  output logic [CounterWidth-1:0]      perf_kv_wait_o,      // cycles the engine waits for a segment
  output logic [CounterWidth-1:0]      perf_rd_beats_o,     // KV beats read from memory
  output logic [CounterWidth-1:0]      perf_rd_busy_o,      // cycles with a read in the port
  output logic [CounterWidth-1:0]      perf_wr_beats_o,     // KV beats written
  output logic [CounterWidth-1:0]      err_rd_refused_o,
  output logic [CounterWidth-1:0]      err_wr_refused_o,
  output logic [CounterWidth-1:0]      err_wr_resp_o,
  output logic [CounterWidth-1:0]      err_rd_resp_o
);

  logic         seg_valid, seg_ready, seg_seg_last, seg_job_last, seg_err;
  logic [511:0] seg_data;
  /* verilator lint_off UNUSEDSIGNAL */
  // Port counters the unit does not export (the host reads them through
  // tp_kv_port's own test and bench) and the engine's own beat count.
  logic [CounterWidth-1:0] port_wr_busy, port_mem_wait, port_out_stall, engine_kv_beats;
  /* verilator lint_on UNUSEDSIGNAL */

  tp_kv_port #(
    .AddrWidth   (AddrWidth),
    .NumPages    (NumPages),
    .CounterWidth(CounterWidth)
  ) u_port (
    .clk_i,
    .rst_ni,
    .cfg_kv_base_i,
    .cfg_n_layers_i,
    .cfg_n_kv_heads_i,
    .cfg_head_size_i,
    .cfg_ok_o,
    .rd_cmd_valid_i,
    .rd_cmd_ready_o,
    .rd_cmd_page_i,
    .rd_cmd_layer_i,
    .rd_cmd_kv_head_i,
    .rd_cmd_last_i, .rd_cmd_fwd_i,
    .out_valid_o     (seg_valid),
    .out_ready_i     (seg_ready),
    .out_data_o      (seg_data),
    .out_seg_last_o  (seg_seg_last),
    .out_job_last_o  (seg_job_last),
    .out_err_o       (seg_err),
    .wr_cmd_valid_i,
    .wr_cmd_ready_o,
    .wr_cmd_page_i,
    .wr_cmd_slot_i,
    .wr_cmd_layer_i,
    .wr_cmd_kv_head_i,
    .wr_cmd_k_row_i,
    .wr_cmd_v_row_i,
    .wr_cmd_k_scale_i,
    .wr_cmd_v_scale_i,
    .wr_rsp_valid_o,
    .wr_rsp_ready_i,
    .wr_rsp_status_o,
    .m_axi_arvalid_o,
    .m_axi_arready_i,
    .m_axi_araddr_o,
    .m_axi_arlen_o,
    .m_axi_arsize_o,
    .m_axi_arburst_o,
    .m_axi_rvalid_i,
    .m_axi_rready_o,
    .m_axi_rdata_i,
    .m_axi_rresp_i,
    .m_axi_rlast_i,
    .m_axi_awvalid_o,
    .m_axi_awready_i,
    .m_axi_awaddr_o,
    .m_axi_awlen_o,
    .m_axi_awsize_o,
    .m_axi_awburst_o,
    .m_axi_wvalid_o,
    .m_axi_wready_i,
    .m_axi_wdata_o,
    .m_axi_wstrb_o,
    .m_axi_wlast_o,
    .m_axi_bvalid_i,
    .m_axi_bready_o,
    .m_axi_bresp_i,
    .perf_rd_beats_o,
    .perf_wr_beats_o,
    .perf_rd_busy_o,
    .perf_wr_busy_o  (port_wr_busy),
    .perf_mem_wait_o (port_mem_wait),
    .perf_out_stall_o(port_out_stall),
    .err_rd_refused_o,
    .err_wr_refused_o,
    .err_wr_resp_o,
    .err_rd_resp_o
  );

  tp_attention_engine #(
    .MaxSlots    (MaxSlots),
    .TileBuffers (TileBuffers),
    .MaxSeqLen   (MaxSeqLen),
    .CounterWidth(CounterWidth)
  ) u_engine (
    .clk_i,
    .rst_ni,
    .cfg_head_size_i,
    .cfg_score_scale_m_i,
    .cfg_score_scale_e_i,
    .q_valid_i,
    .q_ready_o,
    .q_data_i,
    .q_scale_m_i,
    .q_scale_e_i,
    .q_pos_i,
    .q_last_i,
    .kv_valid_i     (seg_valid),
    .kv_ready_o     (seg_ready),
    .kv_data_i      (seg_data),
    .kv_seg_last_i  (seg_seg_last),
    .kv_job_last_i  (seg_job_last),
    .kv_err_i       (seg_err),
    .out_valid_o,
    .out_ready_i,
    .out_data_o,
    .out_slot_o,
    .out_last_o,
    .err_o,
    .busy_o,
    .perf_busy_o    (perf_engine_busy_o),
    .perf_kv_beats_o(engine_kv_beats),
    .perf_kv_wait_o
  );

endmodule
