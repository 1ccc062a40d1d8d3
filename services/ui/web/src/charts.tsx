/** Bar chart in plain SVG: no chart library, so the pages stay small and load at once. */
export interface Bar {
    label: string;
    value: number;
    highlight?: boolean;
}

export function BarChart(props: { bars: Bar[]; title: string; format?: (v: number) => string; testId: string }) {
    const { bars, format = (v) => String(v) } = props;
    const w = 560, h = 220, padL = 8, padB = 34, padT = 22;
    const max = Math.max(1, ...bars.map((b) => b.value));
    const slot = (w - padL * 2) / Math.max(1, bars.length);
    const bw = Math.min(64, slot * 0.7);
    return (
        <figure class="chart" data-testid={props.testId}>
            <figcaption>{props.title}</figcaption>
            <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label={props.title}>
                <line x1={padL} y1={h - padB} x2={w - padL} y2={h - padB} class="axis" />
                {bars.map((b, i) => {
                    const bh = ((h - padB - padT) * b.value) / max;
                    const x = padL + i * slot + (slot - bw) / 2;
                    const y = h - padB - bh;
                    return (
                        <g key={b.label} data-testid={`${props.testId}-bar`}>
                            <rect x={x} y={y} width={bw} height={bh} class={b.highlight ? "bar hl" : "bar"} rx="3" />
                            <text x={x + bw / 2} y={y - 5} class="val">{format(b.value)}</text>
                            <text x={x + bw / 2} y={h - padB + 15} class="lbl">{b.label}</text>
                        </g>
                    );
                })}
            </svg>
        </figure>
    );
}
