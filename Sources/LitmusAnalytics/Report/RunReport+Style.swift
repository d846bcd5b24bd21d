extension RunReport {
    /// The report's CSS: inline in the page, screen and print; verdict colours match the charts'
    /// (``ChartFrame/Color``).
    static let styleSheet = """
        :root{--pass:#1a7f37;--fail:#cf222e;--err:#8250df;--info:#0969da;--warn:#9a6700;--muted:#57606a;--line:#d0d7de;--bg:#f6f8fa}
        *{box-sizing:border-box}
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#24292f;margin:0 auto;padding:0 16px 32px;max-width:1280px}
        h1{font-size:22px;margin:0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
        h3{font-size:15px;margin:18px 0 4px}
        code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
        .banner{display:flex;justify-content:space-between;align-items:center;gap:16px;margin:16px 0;padding:14px 18px;border-radius:8px;color:#fff;background:var(--muted)}
        .banner.v-passed{background:var(--pass)}.banner.v-failed{background:var(--fail)}
        .banner.v-errored,.banner.v-aborted,.banner.v-terminated{background:var(--err)}.banner.v-done,.banner.v-skipped{background:var(--info)}
        .banner .sub{margin:4px 0 0;opacity:.9}.banner .verdict{font-size:34px;font-weight:800;letter-spacing:.04em}
        .banner a{color:#fff;margin-right:12px}
        .links{margin-top:6px}
        .mocked-banner{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:8px 12px}
        .cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:10px}
        .card{margin:0;padding:8px 12px;border:1px solid var(--line);border-radius:6px;background:var(--bg)}
        .card dd{margin:0}.card-title{font-weight:700;margin-bottom:4px}.k{color:var(--muted);display:inline-block;min-width:88px}
        .stats{display:flex;flex-wrap:wrap;gap:10px}.stat{border:1px solid var(--line);border-radius:6px;padding:6px 14px;min-width:110px}
        .stat b{display:block;font-size:22px}.stat.v-passed b{color:var(--pass)}.stat.v-failed b{color:var(--fail)}.stat.warn b{color:var(--warn)}
        .note{color:var(--muted)}.error{color:var(--fail)}.warning{color:var(--warn)}
        .diagnostics li.error{color:var(--fail)}.diagnostics li.warning{color:var(--warn)}
        .toc{columns:2;padding-left:22px}
        .pill{display:inline-block;padding:0 7px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;background:var(--muted)}
        .pill.v-passed{background:var(--pass)}.pill.v-failed{background:var(--fail)}.pill.v-errored,.pill.v-aborted,.pill.v-terminated{background:var(--err)}
        .pill.v-done,.pill.v-skipped{background:var(--info)}.pill.mocked{background:#d4a72c;color:#24292f}
        .retry{font-size:12px;color:var(--warn);font-weight:600}
        .step{border-left:4px solid var(--line);padding-left:12px;margin:12px 0}
        .step.v-passed{border-color:var(--pass)}.step.v-failed{border-color:var(--fail)}.step.v-errored,.step.v-aborted{border-color:var(--err)}
        .step .idx{color:var(--muted);font-weight:400}.step-meta{margin:0 0 6px;color:var(--muted)}
        .scroll{overflow-x:auto}
        table{border-collapse:collapse;font-size:12.5px;margin:4px 0}
        th,td{border-bottom:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top;white-space:nowrap}
        th{background:var(--bg);font-weight:600;position:sticky;top:0}
        td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
        td.value{font-weight:600}
        tr.vector-start td{border-top:1px solid #afb8c1}
        td.verdict{font-weight:700}
        td.v-passed,td.verdict.v-passed{color:var(--pass)}td.v-failed{color:var(--fail)}
        td.v-errored,td.v-aborted,td.v-terminated{color:var(--err)}td.v-skipped,td.v-done{color:var(--info)}
        td.measurement.v-failed,td.measurement.v-errored{background:#ffebe9}
        tr.superseded td{color:#8c959f;background:repeating-linear-gradient(135deg,#fff,#fff 6px,#f6f8fa 6px,#f6f8fa 12px)}
        tr.superseded td.verdict{text-decoration:line-through}
        .res{color:var(--muted);font-size:11px}.unit{color:var(--muted);font-weight:400}.spec{color:var(--muted)}
        td.cal-overdue{color:var(--fail);font-weight:700}td.cal-soon{color:var(--warn);font-weight:600}td.cal-ok{color:var(--pass)}
        tr.untraced td{color:var(--warn)}
        figure{margin:8px 0}.chart-row{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-start}
        svg.chart{border:1px solid var(--line);border-radius:6px;background:#fff;max-width:100%;height:auto}
        .channel .where{color:var(--muted);font-weight:400}.uri{margin:0;color:var(--muted);word-break:break-all}
        footer{margin-top:32px;color:var(--muted);font-size:12px}
        @media print{body{max-width:none;padding:0}.banner{-webkit-print-color-adjust:exact;print-color-adjust:exact}
        th{position:static}section.step,figure,.card{break-inside:avoid}table{font-size:10px}.scroll{overflow:visible}
        td.measurement,tr.superseded td,.pill{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
        @media (max-width:800px){.toc{columns:1}.banner .verdict{font-size:24px}}
        """
}
