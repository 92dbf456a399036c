package ticket

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/validate"
)

var placeholder = regexp.MustCompile(`\{\{\s*([0-9]+)\s*\}\}`)

// Placeholders counts a template body's placeholders, which must be {{1}} to {{n}} with none missing.
func Placeholders(body string) (int, error) {
	seen := map[int]bool{}
	for _, m := range placeholder.FindAllStringSubmatch(body, -1) {
		n, err := strconv.Atoi(m[1])
		if err != nil || n < 1 || n > 32 {
			return 0, fmt.Errorf("placeholder {{%s}} is out of range 1 to 32", m[1])
		}
		seen[n] = true
	}
	nums := make([]int, 0, len(seen))
	for n := range seen {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	for i, n := range nums {
		if n != i+1 {
			return 0, fmt.Errorf("placeholders must run from {{1}} with none missing; {{%d}} is missing", i+1)
		}
	}
	return len(nums), nil
}

// NewTemplate describes a template to create.
type NewTemplate struct {
	Name      string
	Language  string
	Body      string
	Variables []string
}

func (in *NewTemplate) check() error {
	var errs validate.Errors
	in.Name, in.Language, in.Body = strings.TrimSpace(in.Name), strings.TrimSpace(in.Language), strings.TrimSpace(in.Body)
	if in.Name == "" {
		errs.Add("name", "must not be blank")
	}
	if in.Language == "" {
		errs.Add("language", "must not be blank")
	}
	n, err := Placeholders(in.Body)
	switch {
	case in.Body == "":
		errs.Add("body", "must not be blank")
	case err != nil:
		errs.Add("body", "%s", err.Error())
	case in.Variables != nil && len(in.Variables) != n:
		errs.Add("variables", "names %d variables but the body has %d placeholders", len(in.Variables), n)
	}
	if in.Variables == nil {
		in.Variables = make([]string, n)
		for i := range in.Variables {
			in.Variables[i] = strconv.Itoa(i + 1)
		}
	}
	return errs.Err()
}

// CreateTemplate stores a template.
func (s *Service) CreateTemplate(ctx context.Context, tenantID uuid.UUID, in NewTemplate) (Template, error) {
	if err := in.check(); err != nil {
		return Template{}, err
	}
	now := s.clock.Now()
	t := Template{TenantID: tenantID, ID: newID(), Name: in.Name, Language: in.Language, Body: in.Body,
		Variables: in.Variables, Version: 1, CreatedAt: now, UpdatedAt: now}
	if _, err := s.db.NewInsert().Model(&t).Exec(ctx); err != nil {
		if store.IsUniqueViolation(err) {
			return Template{}, ErrTemplateTaken
		}
		return Template{}, fmt.Errorf("insert template: %w", err)
	}
	return t, nil
}

// Template returns one template.
func (s *Service) Template(ctx context.Context, tenantID, id uuid.UUID) (Template, error) {
	return templateOf(ctx, s.db, tenantID, id)
}

func templateOf(ctx context.Context, db bun.IDB, tenantID, id uuid.UUID) (Template, error) {
	var t Template
	if err := db.NewSelect().Model(&t).Where("mt.tenant_id = ? AND mt.id = ?", tenantID, id).Scan(ctx); err != nil {
		return Template{}, notFound(err)
	}
	return t, nil
}

// Templates lists templates.
func (s *Service) Templates(ctx context.Context, tenantID uuid.UUID, p store.Page) ([]Template, string, error) {
	var out []Template
	if err := p.Apply(s.db.NewSelect().Model(&out).Where("mt.tenant_id = ?", tenantID), "mt.id").Scan(ctx); err != nil {
		return nil, "", fmt.Errorf("list templates: %w", err)
	}
	out, next := store.Trim(p, out, func(t Template) uuid.UUID { return t.ID })
	return out, next, nil
}

// TemplatePatch lists template fields to change; nil fields keep their value.
type TemplatePatch struct {
	Name      *string
	Language  *string
	Body      *string
	Variables *[]string
}

// UpdateTemplate changes a template if it is still at version ifVersion (when given). A body change must
// keep the number of placeholders the tasks using the template fill.
func (s *Service) UpdateTemplate(ctx context.Context, tenantID, id uuid.UUID, p TemplatePatch, ifVersion *int64) (Template, error) {
	var t Template
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if t, err = templateOf(ctx, tx, tenantID, id); err != nil {
			return err
		}
		if ifVersion != nil && *ifVersion != t.Version {
			return ErrStale
		}
		in := NewTemplate{Name: t.Name, Language: t.Language, Body: t.Body}
		setIf(&in.Name, p.Name)
		setIf(&in.Language, p.Language)
		setIf(&in.Body, p.Body)
		if p.Variables != nil {
			in.Variables = *p.Variables
		} else if p.Body == nil {
			in.Variables = t.Variables
		}
		if err := in.check(); err != nil {
			return err
		}
		n := len(in.Variables)
		if err := checkTemplateUsers(ctx, tx, tenantID, id, n); err != nil {
			return err
		}
		expected := t.Version
		t.Name, t.Language, t.Body, t.Variables = in.Name, in.Language, in.Body, in.Variables
		t.Version++
		t.UpdatedAt = s.clock.Now()
		res, err := tx.NewUpdate().Model(&t).WherePK().Where("version = ?", expected).Exec(ctx)
		if err != nil {
			if store.IsUniqueViolation(err) {
				return ErrTemplateTaken
			}
			return fmt.Errorf("update template: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrStale
		}
		return nil
	})
	return t, err
}

// checkTemplateUsers refuses a template change that leaves a sending task with the wrong number of variables.
func checkTemplateUsers(ctx context.Context, db bun.IDB, tenantID, templateID uuid.UUID, placeholders int) error {
	var tasks []Task
	if err := db.NewSelect().Model(&tasks).Where("tk.tenant_id = ? AND tk.template_id = ?", tenantID, templateID).Scan(ctx); err != nil {
		return fmt.Errorf("tasks of template: %w", err)
	}
	for _, tk := range tasks {
		if tk.SendWhatsApp && len(tk.Variables) != placeholders {
			return validate.Field("body", "task %q fills %d placeholders; change the task first", tk.Name, len(tk.Variables))
		}
	}
	return nil
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
