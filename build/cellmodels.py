"""Behavioural models of the ECP5 cells that Yosys ships only as black boxes.

Yosys' ``ecp5/cells_sim.v`` has simulation models for LUTs, flip-flops and carry cells but
declares ``DP16KD`` (block RAM) and ``MULT18X18D`` (multiplier) as black boxes. The power
estimate simulates the synthesised netlist, so it needs both. These models implement the subset
of each cell that ``synth_ecp5`` emits (checked at time 0: anything else stops the simulation
with a ``$fatal`` naming the parameter, never a silently wrong result):

* ``DP16KD``: data widths 1, 2, 4, 9, 18 (the same class on both ports) and the 36-bit
  pseudo-dual-port mode (36 on both ports: A writes, B reads), ``REGMODE = "NOREG"``,
  ``WRITEMODE`` NORMAL / WRITETHROUGH / READBEFOREWRITE, chip-select decode, byte enables at
  width 18, synchronous or asynchronous output reset, ``INITVAL_*`` contents.
  Address bits follow the Lattice sysMEM usage guide (TN1264): width w uses ``AD[13:log2 w]``
  (``AD[13:3]`` at 9, ``AD[13:4]`` at 18, with ``AD[1:0]`` the byte enables).
* ``MULT18X18D``: the combinational multiplier (every ``REG_*_CLK = "NONE"``), signed or
  unsigned per ``SIGNEDA``/``SIGNEDB``; ``SIGNEDP`` = either operand signed.

The models are checked by the power flow itself: the netlist simulation compares the design's
outputs with its golden model every cycle (see :mod:`pezo.build.power`).
"""

ECP5_EXTRA = r"""
`timescale 1ps / 1ps
module DP16KD(
  input DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0,
  input ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0,
  input CEA, OCEA, CLKA, WEA, RSTA,
  input CSA2, CSA1, CSA0,
  output DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0,
  input DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0,
  input ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0,
  input CEB, OCEB, CLKB, WEB, RSTB,
  input CSB2, CSB1, CSB0,
  output DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0
);
  parameter DATA_WIDTH_A = 18;
  parameter DATA_WIDTH_B = 18;
  parameter REGMODE_A = "NOREG";
  parameter REGMODE_B = "NOREG";
  parameter RESETMODE = "SYNC";
  parameter ASYNC_RESET_RELEASE = "SYNC";
  parameter CSDECODE_A = "0b000";
  parameter CSDECODE_B = "0b000";
  parameter WRITEMODE_A = "NORMAL";
  parameter WRITEMODE_B = "NORMAL";
  parameter DIA17MUX = "DIA17";
  parameter CLKAMUX = "CLKA";
  parameter CLKBMUX = "CLKB";
  parameter GSR = "ENABLED";
  parameter INIT_DATA = "STATIC";
  parameter INITVAL_00 = 320'h0; parameter INITVAL_01 = 320'h0; parameter INITVAL_02 = 320'h0; parameter INITVAL_03 = 320'h0;
  parameter INITVAL_04 = 320'h0; parameter INITVAL_05 = 320'h0; parameter INITVAL_06 = 320'h0; parameter INITVAL_07 = 320'h0;
  parameter INITVAL_08 = 320'h0; parameter INITVAL_09 = 320'h0; parameter INITVAL_0A = 320'h0; parameter INITVAL_0B = 320'h0;
  parameter INITVAL_0C = 320'h0; parameter INITVAL_0D = 320'h0; parameter INITVAL_0E = 320'h0; parameter INITVAL_0F = 320'h0;
  parameter INITVAL_10 = 320'h0; parameter INITVAL_11 = 320'h0; parameter INITVAL_12 = 320'h0; parameter INITVAL_13 = 320'h0;
  parameter INITVAL_14 = 320'h0; parameter INITVAL_15 = 320'h0; parameter INITVAL_16 = 320'h0; parameter INITVAL_17 = 320'h0;
  parameter INITVAL_18 = 320'h0; parameter INITVAL_19 = 320'h0; parameter INITVAL_1A = 320'h0; parameter INITVAL_1B = 320'h0;
  parameter INITVAL_1C = 320'h0; parameter INITVAL_1D = 320'h0; parameter INITVAL_1E = 320'h0; parameter INITVAL_1F = 320'h0;
  parameter INITVAL_20 = 320'h0; parameter INITVAL_21 = 320'h0; parameter INITVAL_22 = 320'h0; parameter INITVAL_23 = 320'h0;
  parameter INITVAL_24 = 320'h0; parameter INITVAL_25 = 320'h0; parameter INITVAL_26 = 320'h0; parameter INITVAL_27 = 320'h0;
  parameter INITVAL_28 = 320'h0; parameter INITVAL_29 = 320'h0; parameter INITVAL_2A = 320'h0; parameter INITVAL_2B = 320'h0;
  parameter INITVAL_2C = 320'h0; parameter INITVAL_2D = 320'h0; parameter INITVAL_2E = 320'h0; parameter INITVAL_2F = 320'h0;
  parameter INITVAL_30 = 320'h0; parameter INITVAL_31 = 320'h0; parameter INITVAL_32 = 320'h0; parameter INITVAL_33 = 320'h0;
  parameter INITVAL_34 = 320'h0; parameter INITVAL_35 = 320'h0; parameter INITVAL_36 = 320'h0; parameter INITVAL_37 = 320'h0;
  parameter INITVAL_38 = 320'h0; parameter INITVAL_39 = 320'h0; parameter INITVAL_3A = 320'h0; parameter INITVAL_3B = 320'h0;
  parameter INITVAL_3C = 320'h0; parameter INITVAL_3D = 320'h0; parameter INITVAL_3E = 320'h0; parameter INITVAL_3F = 320'h0;

  // 18 Kbit as 1024 rows of 18 bits; each INITVAL_xx holds 16 rows of 20 bits (18 used).
  localparam [20479:0] INIT = {INITVAL_3F, INITVAL_3E, INITVAL_3D, INITVAL_3C, INITVAL_3B, INITVAL_3A, INITVAL_39, INITVAL_38, INITVAL_37, INITVAL_36, INITVAL_35, INITVAL_34, INITVAL_33, INITVAL_32, INITVAL_31, INITVAL_30, INITVAL_2F, INITVAL_2E, INITVAL_2D, INITVAL_2C, INITVAL_2B, INITVAL_2A, INITVAL_29, INITVAL_28, INITVAL_27, INITVAL_26, INITVAL_25, INITVAL_24, INITVAL_23, INITVAL_22, INITVAL_21, INITVAL_20, INITVAL_1F, INITVAL_1E, INITVAL_1D, INITVAL_1C, INITVAL_1B, INITVAL_1A, INITVAL_19, INITVAL_18, INITVAL_17, INITVAL_16, INITVAL_15, INITVAL_14, INITVAL_13, INITVAL_12, INITVAL_11, INITVAL_10, INITVAL_0F, INITVAL_0E, INITVAL_0D, INITVAL_0C, INITVAL_0B, INITVAL_0A, INITVAL_09, INITVAL_08, INITVAL_07, INITVAL_06, INITVAL_05, INITVAL_04, INITVAL_03, INITVAL_02, INITVAL_01, INITVAL_00};
  reg [17:0] rows [0:1023];
  integer r, k;
  reg [17:0] doa, dob;
  assign {DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0} = doa;
  assign {DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0} = dob;
  wire [17:0] dia = {DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0};
  wire [17:0] dib = {DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0};
  wire [13:0] ada = {ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0};
  wire [13:0] adb = {ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0};

  function integer wide(input integer w);  // 9, 18 and 36 use the parity bits; 1, 2, 4 do not
    wide = (w == 9 || w == 18 || w == 36);
  endfunction
  // 36 bits on both ports is the pseudo-dual-port mode yosys' PDPW16KD mapping emits: port A
  // writes, port B reads, a word is rows 2w (DIA/DOA, bits 17:0) and 2w + 1 (DIB/DOB, 35:18).
  localparam PDP = DATA_WIDTH_A == 36 && DATA_WIDTH_B == 36;
  function [2:0] csdec(input [8*5-1:0] s);  // "0bXYZ"
    csdec = {s[23:16] == "1", s[15:8] == "1", s[7:0] == "1"};
  endfunction

  initial begin
    if (!PDP && (!(DATA_WIDTH_A == 1 || DATA_WIDTH_A == 2 || DATA_WIDTH_A == 4 || DATA_WIDTH_A == 9 || DATA_WIDTH_A == 18)
        || !(DATA_WIDTH_B == 1 || DATA_WIDTH_B == 2 || DATA_WIDTH_B == 4 || DATA_WIDTH_B == 9 || DATA_WIDTH_B == 18)))
      $fatal(1, "pezo DP16KD model: unsupported DATA_WIDTH %0d/%0d", DATA_WIDTH_A, DATA_WIDTH_B);
    if (wide(DATA_WIDTH_A) != wide(DATA_WIDTH_B))
      $fatal(1, "pezo DP16KD model: mixed widths %0d/%0d not modelled", DATA_WIDTH_A, DATA_WIDTH_B);
    if (REGMODE_A != "NOREG" || REGMODE_B != "NOREG")
      $fatal(1, "pezo DP16KD model: REGMODE other than NOREG not modelled");
    if (!wide(DATA_WIDTH_A) && INIT != 20480'h0)
      $fatal(1, "pezo DP16KD model: INITVAL contents at width %0d not modelled", DATA_WIDTH_A);
    for (r = 0; r < 1024; r = r + 1)
      for (k = 0; k < 18; k = k + 1) rows[r][k] = INIT[r * 20 + k];
    doa = 18'h0; dob = 18'h0;
  end

  // One port: word address -> (row, bit offset); returns the read word, applies the write.
  task automatic access(input integer w, input [13:0] ad, input [17:0] di, input we,
                        input [8*15-1:0] mode, output [17:0] q);
    integer row, off, i, sh;
    reg [17:0] old;
    begin
      sh = (w == 1) ? 0 : (w == 2) ? 1 : (w == 4) ? 2 : (w == 9) ? 3 : 4;
      if (wide(w)) begin
        row = ad[13:4];
        off = (w == 18) ? 0 : (ad[3] ? 9 : 0);
      end else begin
        row = ad[13:4];
        off = (ad[3:0] >> sh) * w;
      end
      old = 18'h0;
      for (i = 0; i < w; i = i + 1) old[i] = rows[row][off + i];
      if (we) begin
        for (i = 0; i < w; i = i + 1)
          if (w != 18 || (i < 9 ? ad[0] : ad[1])) rows[row][off + i] = di[i];
      end
      if (!we) q = old;
      else if (mode == "READBEFOREWRITE") q = old;
      else if (mode == "WRITETHROUGH") q = di & ((18'h1 << w) - 1);
      else q = 18'hx;  // NORMAL: output unchanged, signalled to the caller by x
    end
  endtask

  reg [17:0] qa, qb;
  integer j;
  if (PDP) begin : pdp
    wire [8:0] w = ada[13:5];
    always @(posedge CLKA)
      if (CEA && WEA && {CSA2, CSA1, CSA0} == csdec(CSDECODE_A))
        for (j = 0; j < 36; j = j + 1)
          if (ada[j / 9]) begin      // AD[3:0]: one byte enable per 9 bits
            if (j < 18) rows[{w, 1'b0}][j] = dia[j];
            else rows[{w, 1'b1}][j - 18] = dib[j - 18];
          end
    always @(posedge CLKB)
      if (RSTB) {dob, doa} <= 36'h0;
      else if (CEB && {CSB2, CSB1, CSB0} == csdec(CSDECODE_B))
        {dob, doa} <= {rows[{adb[13:5], 1'b1}], rows[{adb[13:5], 1'b0}]};
  end else begin : tdp
  always @(posedge CLKA) begin
    if (RSTA) doa <= 18'h0;
    else if (CEA && {CSA2, CSA1, CSA0} == csdec(CSDECODE_A)) begin
      access(DATA_WIDTH_A, ada, dia, WEA, WRITEMODE_A, qa);
      if (qa !== 18'hx) doa <= qa;
    end
  end
  always @(posedge CLKB) begin
    if (RSTB) dob <= 18'h0;
    else if (CEB && {CSB2, CSB1, CSB0} == csdec(CSDECODE_B)) begin
      access(DATA_WIDTH_B, adb, dib, WEB, WRITEMODE_B, qb);
      if (qb !== 18'hx) dob <= qb;
    end
  end
  end
endmodule

module MULT18X18D(
  input A17, A16, A15, A14, A13, A12, A11, A10, A9, A8, A7, A6, A5, A4, A3, A2, A1, A0,
  input B17, B16, B15, B14, B13, B12, B11, B10, B9, B8, B7, B6, B5, B4, B3, B2, B1, B0,
  input C17, C16, C15, C14, C13, C12, C11, C10, C9, C8, C7, C6, C5, C4, C3, C2, C1, C0,
  input SIGNEDA, SIGNEDB, SOURCEA, SOURCEB,
  input CLK3, CLK2, CLK1, CLK0, CE3, CE2, CE1, CE0, RST3, RST2, RST1, RST0,
  input SRIA17, SRIA16, SRIA15, SRIA14, SRIA13, SRIA12, SRIA11, SRIA10, SRIA9, SRIA8, SRIA7, SRIA6, SRIA5, SRIA4, SRIA3, SRIA2, SRIA1, SRIA0,
  input SRIB17, SRIB16, SRIB15, SRIB14, SRIB13, SRIB12, SRIB11, SRIB10, SRIB9, SRIB8, SRIB7, SRIB6, SRIB5, SRIB4, SRIB3, SRIB2, SRIB1, SRIB0,
  output SROA17, SROA16, SROA15, SROA14, SROA13, SROA12, SROA11, SROA10, SROA9, SROA8, SROA7, SROA6, SROA5, SROA4, SROA3, SROA2, SROA1, SROA0,
  output SROB17, SROB16, SROB15, SROB14, SROB13, SROB12, SROB11, SROB10, SROB9, SROB8, SROB7, SROB6, SROB5, SROB4, SROB3, SROB2, SROB1, SROB0,
  output ROA17, ROA16, ROA15, ROA14, ROA13, ROA12, ROA11, ROA10, ROA9, ROA8, ROA7, ROA6, ROA5, ROA4, ROA3, ROA2, ROA1, ROA0,
  output ROB17, ROB16, ROB15, ROB14, ROB13, ROB12, ROB11, ROB10, ROB9, ROB8, ROB7, ROB6, ROB5, ROB4, ROB3, ROB2, ROB1, ROB0,
  output ROC17, ROC16, ROC15, ROC14, ROC13, ROC12, ROC11, ROC10, ROC9, ROC8, ROC7, ROC6, ROC5, ROC4, ROC3, ROC2, ROC1, ROC0,
  output P35, P34, P33, P32, P31, P30, P29, P28, P27, P26, P25, P24, P23, P22, P21, P20, P19, P18,
  output P17, P16, P15, P14, P13, P12, P11, P10, P9, P8, P7, P6, P5, P4, P3, P2, P1, P0,
  output SIGNEDP
);
  parameter REG_INPUTA_CLK = "NONE";
  parameter REG_INPUTA_CE = "CE0";
  parameter REG_INPUTA_RST = "RST0";
  parameter REG_INPUTB_CLK = "NONE";
  parameter REG_INPUTB_CE = "CE0";
  parameter REG_INPUTB_RST = "RST0";
  parameter REG_INPUTC_CLK = "NONE";
  parameter REG_INPUTC_CE = "CE0";
  parameter REG_INPUTC_RST = "RST0";
  parameter REG_PIPELINE_CLK = "NONE";
  parameter REG_PIPELINE_CE = "CE0";
  parameter REG_PIPELINE_RST = "RST0";
  parameter REG_OUTPUT_CLK = "NONE";
  parameter REG_OUTPUT_CE = "CE0";
  parameter REG_OUTPUT_RST = "RST0";
  parameter CLK0_DIV = "ENABLED";
  parameter CLK1_DIV = "ENABLED";
  parameter CLK2_DIV = "ENABLED";
  parameter CLK3_DIV = "ENABLED";
  parameter HIGHSPEED_CLK = "NONE";
  parameter GSR = "ENABLED";
  parameter CAS_MATCH_REG = "FALSE";
  parameter SOURCEB_MODE = "B_SHIFT";
  parameter MULT_BYPASS = "DISABLED";
  parameter RESETMODE = "SYNC";

  initial begin
    if (REG_INPUTA_CLK != "NONE" || REG_INPUTB_CLK != "NONE" || REG_PIPELINE_CLK != "NONE"
        || REG_OUTPUT_CLK != "NONE" || MULT_BYPASS != "DISABLED")
      $fatal(1, "pezo MULT18X18D model: only the combinational multiplier is modelled");
  end
  wire [17:0] a = {A17, A16, A15, A14, A13, A12, A11, A10, A9, A8, A7, A6, A5, A4, A3, A2, A1, A0};
  wire [17:0] b = {B17, B16, B15, B14, B13, B12, B11, B10, B9, B8, B7, B6, B5, B4, B3, B2, B1, B0};
  // A concatenation is unsigned: declared 19 bits wide, the extension bit is the sign bit.
  wire signed [18:0] sa = {SIGNEDA & a[17], a};
  wire signed [18:0] sb = {SIGNEDB & b[17], b};
  wire signed [37:0] prod = sa * sb;
  assign {P35, P34, P33, P32, P31, P30, P29, P28, P27, P26, P25, P24, P23, P22, P21, P20, P19, P18,
          P17, P16, P15, P14, P13, P12, P11, P10, P9, P8, P7, P6, P5, P4, P3, P2, P1, P0} = prod[35:0];
  assign SIGNEDP = SIGNEDA | SIGNEDB;
  assign {SROA17, SROA16, SROA15, SROA14, SROA13, SROA12, SROA11, SROA10, SROA9, SROA8, SROA7, SROA6, SROA5, SROA4, SROA3, SROA2, SROA1, SROA0} = a;
  assign {SROB17, SROB16, SROB15, SROB14, SROB13, SROB12, SROB11, SROB10, SROB9, SROB8, SROB7, SROB6, SROB5, SROB4, SROB3, SROB2, SROB1, SROB0} = b;
  assign {ROA17, ROA16, ROA15, ROA14, ROA13, ROA12, ROA11, ROA10, ROA9, ROA8, ROA7, ROA6, ROA5, ROA4, ROA3, ROA2, ROA1, ROA0} = a;
  assign {ROB17, ROB16, ROB15, ROB14, ROB13, ROB12, ROB11, ROB10, ROB9, ROB8, ROB7, ROB6, ROB5, ROB4, ROB3, ROB2, ROB1, ROB0} = b;
  assign {ROC17, ROC16, ROC15, ROC14, ROC13, ROC12, ROC11, ROC10, ROC9, ROC8, ROC7, ROC6, ROC5, ROC4, ROC3, ROC2, ROC1, ROC0} = 18'h0;
endmodule
"""
