package restlink

import (
	"errors"
	"fmt"
)

// problems collects a compile's errors, each naming its field.
type problems struct{ errs []error }

// add records a problem with field.
func (p *problems) add(field, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
}

// err joins the problems; nil if there are none.
func (p *problems) err() error { return errors.Join(p.errs...) }
