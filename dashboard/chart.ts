/** A live line chart on a canvas: the last `capacity` points, scaled to their maximum. */
export class LineChart {
  private readonly points: number[] = [];
  private readonly value: HTMLElement;
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;

  constructor(
    title: string,
    private readonly format: (v: number) => string,
    private readonly capacity = 120,
  ) {
    this.canvas = document.createElement('canvas');
    this.value = document.createElement('span');
    const head = document.createElement('div');
    head.className = 'title';
    head.append(title, this.value);
    this.element = document.createElement('div');
    this.element.className = 'chart';
    this.element.append(head, this.canvas);
  }

  push(v: number): void {
    this.points.push(Number.isFinite(v) ? v : 0);
    if (this.points.length > this.capacity) this.points.shift();
    this.value.textContent = this.format(this.points[this.points.length - 1]!);
    this.draw();
  }

  private draw(): void {
    const ratio = window.devicePixelRatio || 1;
    const w = this.canvas.clientWidth * ratio;
    const hgt = this.canvas.clientHeight * ratio;
    if (w === 0 || hgt === 0) return;
    this.canvas.width = w;
    this.canvas.height = hgt;
    const g = this.canvas.getContext('2d');
    if (!g) return;
    const max = Math.max(...this.points, 1e-9);
    g.clearRect(0, 0, w, hgt);
    g.fillStyle = '#6b7486';
    g.font = `${11 * ratio}px sans-serif`;
    g.fillText(this.format(max), 4, 12 * ratio);
    g.strokeStyle = '#2f6fd6';
    g.lineWidth = 1.5 * ratio;
    g.beginPath();
    const step = w / Math.max(1, this.capacity - 1);
    const x0 = w - (this.points.length - 1) * step;
    this.points.forEach((p, i) => {
      const x = x0 + i * step;
      const y = hgt - 2 - (p / max) * (hgt - 16 * ratio);
      if (i === 0) g.moveTo(x, y);
      else g.lineTo(x, y);
    });
    g.stroke();
  }
}
