package web

import (
	"fmt"
	"math"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/report"
)

// Charts are SVG drawn on the server, as gown's HTML report draws them,
// rather than a JavaScript chart library vendored from npm: there is no
// third-party code to audit, pin and update, nothing for the CSP to allow
// beyond the dashboard's own style sheet, the charts render with scripts
// off, and their numbers are text in the DOM (readable by screen readers
// and by the browser tests). Bars are links into the filtered findings.

// barChart is a horizontal bar chart.
type barChart struct {
	ID, Title string
	Empty     string // shown instead of bars when set
	Height    int
	Bars      []hbar
}

// hbar is one bar: a track, the bar, its label and its value.
type hbar struct {
	Label, Value, Href, Class string
	Y, TextY, W               int
}

// Bar chart geometry, in SVG user units: labels, then bars, then values.
const (
	barLabelW = 120
	barArea   = 180
	barRow    = 28
	barValueX = barLabelW + barArea + 8
)

// barItem is what a bar chart is built from.
type barItem struct {
	label, value, href, class string
	n                         float64
}

func newBarChart(id, title, empty string, items []barItem) barChart {
	c := barChart{ID: id, Title: title}
	var most float64
	for _, it := range items {
		most = math.Max(most, it.n)
	}
	if len(items) == 0 || most == 0 {
		c.Empty = empty
		return c
	}
	for i, it := range items {
		w := 0
		if it.n > 0 {
			w = max(3, int(it.n/most*barArea))
		}
		c.Bars = append(c.Bars, hbar{Label: it.label, Value: it.value, Href: it.href, Class: it.class,
			Y: i*barRow + 4, TextY: i*barRow + 19, W: w})
	}
	c.Height = len(items)*barRow + 4
	return c
}

// colChart is a column chart over scans, each column stacked.
type colChart struct {
	ID, Title string
	Empty     string
	Width     int
	Height    int
	Base      int // the baseline's y
	Cols      []column
	Legend    []legendItem
	Max       string // the top of the scale, as text
}

// column is one scan: its segments bottom up, and its label.
type column struct {
	X, W, LabelX int
	Label, Tip   string
	Href         string
	Segs         []segment
}

type segment struct {
	Y, H  int
	Class string
}

type legendItem struct{ Label, Class string }

// Column chart geometry.
const (
	colPlotH = 160
	colTop   = 14
	colStep  = 26
	colLeft  = 66
)

func newColChart(id, title, empty string, n int) colChart {
	c := colChart{ID: id, Title: title, Height: colTop + colPlotH + 24, Base: colTop + colPlotH}
	c.Width = max(300, colLeft+n*colStep+10)
	if n == 0 {
		c.Empty = empty
	}
	return c
}

// severityTrend stacks each scan's findings by severity, worst on top.
func severityTrend(points []gown.TrendPoint) colChart {
	c := newColChart("chart-trend-findings", "Findings over scans, by severity", "No scan yet.", len(points))
	var most int64
	for _, p := range points {
		var sum int64
		for _, n := range p.BySeverity {
			sum += n
		}
		most = max(most, sum)
	}
	for sev := gown.SeverityCritical; sev >= gown.SeverityInfo; sev-- {
		c.Legend = append(c.Legend, legendItem{Label: sev.String(), Class: "sev-" + sev.String()})
	}
	c.Max = thousands(most)
	for i, p := range points {
		col := c.column(i, p)
		y := c.Base
		var sum int64
		for sev := gown.SeverityInfo; sev <= gown.SeverityCritical; sev++ {
			n := p.BySeverity[sev]
			sum += n
			if n == 0 || most == 0 {
				continue
			}
			h := max(1, int(float64(n)/float64(most)*colPlotH))
			y -= h
			col.Segs = append(col.Segs, segment{Y: y, H: h, Class: "sev-" + sev.String()})
		}
		col.Tip = fmt.Sprintf("scan %d: %s findings (%d critical, %d high)", p.Meta.ID, thousands(sum),
			p.BySeverity[gown.SeverityCritical], p.BySeverity[gown.SeverityHigh])
		c.Cols = append(c.Cols, col)
	}
	return c
}

// exposureTrend draws the bytes each scan's open stores expose.
func exposureTrend(points []gown.TrendPoint) colChart {
	c := newColChart("chart-trend-bytes", "Bytes exposed over scans", "No scan yet.", len(points))
	var most uint64
	for _, p := range points {
		most = max(most, p.Bytes)
	}
	c.Legend = []legendItem{{Label: "bytes in open stores", Class: "open"}}
	c.Max = report.HumanBytes(most)
	for i, p := range points {
		col := c.column(i, p)
		if p.Bytes > 0 && most > 0 {
			h := max(1, int(float64(p.Bytes)/float64(most)*colPlotH))
			col.Segs = []segment{{Y: c.Base - h, H: h, Class: "open"}}
		}
		col.Tip = fmt.Sprintf("scan %d: %s in %d open stores (%s records)", p.Meta.ID, report.HumanBytes(p.Bytes), p.Open, thousands(p.Items))
		c.Cols = append(c.Cols, col)
	}
	return c
}

func (c colChart) column(i int, p gown.TrendPoint) column {
	x := colLeft + i*colStep
	return column{X: x + 3, W: colStep - 6, LabelX: x + colStep/2, Label: fmt.Sprint(p.Meta.ID),
		Href: fmt.Sprintf("/?scan=%d", p.Meta.ID)}
}
