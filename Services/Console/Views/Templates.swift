import Mustache

/// The console's pages, shipped inside the binary. Mustache escapes every `{{value}}`; only `{{{body}}}`,
/// a page already rendered, is inserted as it is.
enum Templates {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in all {
            do { try library.register(text, named: name) } catch { fatalError("template \(name) does not parse: \(error)") }
        }
        return library
    }()

    static let all: [String: String] = [
        "layout": layout, "signin": signIn, "code": code, "enrol": enrol, "home": home, "account": account, "problem": problem,
        "tasks": tasks, "inbox": inbox, "cases": cases, "case": casePage, "sealed": sealed, "audit": audit, "people": people, "operatorHome": operatorHome,
        "ledgers": ledgers, "ledger": ledger, "subject": subject, "stats": stats,
        "safetyNav": safetyNav, "schools": schools, "school": school, "inspections": inspections, "hazards": hazards, "venues": venues,
        "summary": summary, "operations": operations, "dead": dead, "agencies": agencies, "routing": routing, "operatorNav": operatorNav, "exportForm": exportForm, "loopDays": loopDays, "ratings": ratings, "bulletin": bulletin, "hazardTable": hazardTable, "inspectionTable": inspectionTable,
    ]

    static let layout = """
        <!DOCTYPE html>
        <html lang="{{t.htmlLang}}">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · {{t.product}}</title>
        <link rel="stylesheet" href="/static/console.css">
        </head>
        <body>
        <a class="skip" href="#main">{{t.skip}}</a>
        <header>
        <p class="product">{{t.product}}</p>
        {{#person}}
        <nav aria-label="{{t.navigation}}">
        <a href="/">{{t.home}}</a>
        {{#taskForce}}<a href="/cases">{{t.cases}}</a> <a href="/ledgers">{{t.ledgers}}</a> <a href="/summary">{{t.summaryNav}}</a> <a href="/stats">{{t.stats}}</a> <a href="/audit">{{t.audit}}</a>{{/taskForce}}
        {{#operator}}<a href="/operations">{{t.operationsNav}}</a> <a href="/people">{{t.people}}</a> <a href="/agencies">{{t.agenciesNav}}</a> <a href="/stats">{{t.stats}}</a>{{/operator}}
        {{#safety}}<a href="/ratings">{{t.schoolSafety}}</a>{{/safety}}
        {{#unitWork}}<a href="/tasks">{{t.tasks}}</a> <a href="/inbox">{{t.inbox}}</a>{{/unitWork}}
        <a href="/account">{{t.account}}</a>
        <form method="post" action="/signout" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><button type="submit">{{t.signOut}}</button></form>
        </nav>
        <p class="who">{{displayName}} · {{unit}} · {{roleName}}</p>
        {{/person}}
        </header>
        <main id="main">
        <h1>{{title}}</h1>
        {{{body}}}
        </main>
        <footer><p>{{t.footer}}</p></footer>
        </body>
        </html>
        """

    static let signIn = """
        {{#locked}}<p class="error" role="alert">{{t.locked}} {{until}}</p>{{/locked}}
        <form method="post" action="/signin" novalidate>
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <div class="field{{#error}} invalid{{/error}}">
        <label for="username">{{t.username}}</label>
        <input id="username" name="username" autocomplete="username" required value="{{username}}"{{#error}} aria-invalid="true" aria-describedby="username-error"{{/error}}>
        {{#error}}<p class="error" id="username-error">{{error}}</p>{{/error}}
        </div>
        <div class="field">
        <label for="password">{{t.password}}</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required>
        </div>
        <button type="submit">{{t.signIn}}</button>
        </form>
        <p><a href="/signin?lang={{t.otherLang}}" lang="{{t.otherLang}}">{{t.otherLanguage}}</a></p>
        """

    static let code = """
        <form method="post" action="/signin/code" novalidate>
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <div class="field{{#error}} invalid{{/error}}">
        <label for="code">{{t.code}}</label>
        <p class="hint" id="code-hint">{{t.codeHint}}</p>
        <input id="code" name="code" inputmode="numeric" autocomplete="off" pattern="[0-9 ]*" required
               aria-describedby="code-hint{{#error}} code-error{{/error}}"{{#error}} aria-invalid="true"{{/error}}>
        {{#error}}<p class="error" id="code-error">{{error}}</p>{{/error}}
        </div>
        <button type="submit">{{t.confirm}}</button>
        </form>
        """

    static let enrol = """
        <p>{{t.enrolIntro}}</p>
        <figure class="qr">{{{qr}}}<figcaption>{{t.enrolScan}}</figcaption></figure>
        <ol>
        <li>{{t.enrolStep1}} <code class="secret">{{typed}}</code></li>
        <li>{{t.enrolStep2}} <a href="{{url}}">{{t.enrolLink}}</a></li>
        <li>{{t.enrolStep3}}</li>
        </ol>
        <form method="post" action="/signin/enrol" novalidate>
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <div class="field{{#error}} invalid{{/error}}">
        <label for="code">{{t.code}}</label>
        <input id="code" name="code" inputmode="numeric" autocomplete="off" required
               {{#error}}aria-invalid="true" aria-describedby="code-error"{{/error}}>
        {{#error}}<p class="error" id="code-error">{{error}}</p>{{/error}}
        </div>
        <button type="submit">{{t.confirm}}</button>
        </form>
        """

    static let home = """
        {{#daily}}
        <section aria-labelledby="today">
        <h2 id="today">{{t.today}} {{date}}</h2>
        <ul class="counts">
        <li><a href="/cases">{{t.newCases}} <strong>{{casesOpened}}</strong></a></li>
        <li>{{t.tasksAssigned}} <strong>{{tasksAssigned}}</strong></li>
        <li><a href="/cases?late=true">{{t.tasksLate}} <strong>{{tasksLate}}</strong></a></li>
        <li>{{t.tasksCompleted}} <strong>{{tasksCompleted}}</strong></li>
        <li><a href="/cases">{{t.openCases}} <strong>{{openCases}}</strong></a></li>
        <li><a href="/cases?late=true">{{t.lateTasks}} <strong>{{lateTasksOutstanding}}</strong></a></li>
        </ul>
        </section>
        {{/daily}}
        {{#hasDays}}{{> loopDays}}{{/hasDays}}
        {{#hasTasks}}
        <section aria-labelledby="tasks">
        <h2 id="tasks">{{t.yourTasks}}</h2>
        <table>
        <caption>{{t.tasksCaption}}</caption>
        <thead><tr><th scope="col">{{t.measure}}</th><th scope="col">{{t.due}}</th><th scope="col">{{t.status}}</th></tr></thead>
        <tbody>
        {{#tasks}}<tr{{#late}} class="late"{{/late}}><td>{{measure}}</td><td>{{due}}</td><td>{{#late}}<strong>⚠ {{t.late}}</strong> {{/late}}{{status}}</td></tr>{{/tasks}}
        </tbody>
        </table>
        </section>
        {{/hasTasks}}
        {{#noTasks}}<p>{{t.noTasks}}</p>{{/noTasks}}
        {{#hasHazards}}
        <section aria-labelledby="hazards">
        <h2 id="hazards">{{t.openHazards}}</h2>
        <table>
        <caption>{{t.hazardsCaption}}</caption>
        <thead><tr><th scope="col">{{t.hazardItem}}</th><th scope="col">{{t.school}}</th><th scope="col">{{t.severity}}</th><th scope="col">{{t.rectifyingUnit}}</th><th scope="col">{{t.rectifyBy}}</th></tr></thead>
        <tbody>
        {{#hazards}}<tr{{#late}} class="late"{{/late}}><td>{{item}}</td><td>{{school}}</td><td>{{severity}}</td><td>{{unit}}</td><td>{{#late}}<strong>⚠ {{t.late}}</strong> {{/late}}{{due}}</td></tr>{{/hazards}}
        </tbody>
        </table>
        </section>
        {{/hasHazards}}
        """

    static let tasks = """
        {{#sent}}<p role="status" class="done">{{t.feedbackSent}} {{sent}}</p>{{/sent}}
        {{#noTasks}}<p>{{t.noTasks}}</p>{{/noTasks}}
        {{#tasks}}
        <article class="task{{#late}} late{{/late}}" aria-labelledby="task-{{taskId}}">
        <h2 id="task-{{taskId}}">{{measure}}</h2>
        <p>{{#late}}<strong>⚠ {{t.late}}</strong> · {{/late}}{{t.due}} {{due}} · {{t.status}}: {{status}}</p>
        {{#hasNote}}<p>{{note}}</p>{{/hasNote}}
        <p><a href="/cases/{{caseId}}">{{t.openCase}}</a></p>
        {{#open}}
        <form method="post" action="/tasks/{{taskId}}/feedback" novalidate>
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <div class="field{{#statusError}} invalid{{/statusError}}">
        <label for="status-{{taskId}}">{{t.feedback}}</label>
        <select id="status-{{taskId}}" name="status"{{#statusError}} aria-invalid="true" aria-describedby="status-error-{{taskId}}"{{/statusError}}>
        {{#choices}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/choices}}
        </select>
        {{#statusError}}<p class="error" id="status-error-{{taskId}}">{{statusError}}</p>{{/statusError}}
        </div>
        <div class="field">
        <label for="note-{{taskId}}">{{t.note}}</label>
        <textarea id="note-{{taskId}}" name="note" rows="3">{{typedNote}}</textarea>
        </div>
        <div class="field{{#reasonError}} invalid{{/reasonError}}">
        <label for="reason-{{taskId}}">{{t.reason}}</label>
        <input id="reason-{{taskId}}" name="reason" value="{{typedReason}}"{{#reasonError}} aria-invalid="true" aria-describedby="reason-error-{{taskId}}"{{/reasonError}}>
        {{#reasonError}}<p class="error" id="reason-error-{{taskId}}">{{reasonError}}</p>{{/reasonError}}
        </div>
        <button type="submit">{{t.send}}</button>
        </form>
        {{/open}}
        </article>
        {{/tasks}}
        """

    static let inbox = """
        {{#empty}}<p>{{t.inboxEmpty}}</p>{{/empty}}
        <ul class="inbox">
        {{#items}}
        <li>
        <p>{{#critical}}<strong>❗ {{t.critical}}</strong> · {{/critical}}{{at}} · {{state}}{{#awaiting}} · {{t.ackBy}} {{ackBy}}{{/awaiting}}</p>
        <p>{{body}}</p>
        {{#awaiting}}
        <form method="post" action="/inbox/{{deliveryId}}/ack"><input type="hidden" name="_csrf" value="{{csrf}}"><button type="submit">{{t.acknowledge}}</button></form>
        {{/awaiting}}
        </li>
        {{/items}}
        </ul>
        """

    static let cases = """
        <form method="get" action="/cases" class="filters">
        <div class="field"><label for="tier">{{t.tier}}</label>
        <select id="tier" name="tier"><option value="">{{t.any}}</option>
        {{#tiers}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/tiers}}
        </select></div>
        <div class="field"><label for="status">{{t.status}}</label>
        <select id="status" name="status"><option value="">{{t.any}}</option>
        {{#statuses}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/statuses}}
        </select></div>
        <div class="field"><label for="school">{{t.school}}</label><input id="school" name="school" value="{{school}}"></div>
        <div class="field"><label for="unit">{{t.unit}}</label><input id="unit" name="unit" value="{{unit}}"></div>
        <div class="field"><input type="checkbox" id="late" name="late" value="true"{{#late}} checked{{/late}}> <label for="late" class="inline-label">{{t.onlyLate}}</label></div>
        <button type="submit">{{t.filter}}</button>
        </form>
        {{#empty}}<p>{{t.noCases}}</p>{{/empty}}
        {{^empty}}
        <table>
        <caption>{{t.casesCaption}}</caption>
        <thead><tr><th scope="col">{{t.case}}</th><th scope="col">{{t.tier}}</th><th scope="col">{{t.school}}</th><th scope="col">{{t.opened}}</th><th scope="col">{{t.openTasks}}</th><th scope="col">{{t.lateTasks}}</th></tr></thead>
        <tbody>
        {{#cases}}<tr><td><a href="/cases/{{caseId}}">{{short}}</a></td><td><span aria-hidden="true">{{tierIcon}}</span> {{tier}}</td><td>{{school}}</td><td>{{opened}}</td><td>{{openTasks}}</td><td>{{#hasLate}}<strong>⚠ {{lateTasks}}</strong>{{/hasLate}}{{^hasLate}}0{{/hasLate}}</td></tr>{{/cases}}
        </tbody>
        </table>
        {{/empty}}
        <nav aria-label="{{t.pages}}" class="pager">{{#first}}<a href="{{first}}">{{t.firstPage}}</a> {{/first}}{{#next}}<a href="{{next}}" rel="next">{{t.nextPage}}</a>{{/next}}</nav>
        {{#taskForce}}{{> exportForm}}{{/taskForce}}
        """

    static let casePage = """
        <p>{{t.case}} {{short}} · <span aria-hidden="true">{{tierIcon}}</span> {{tier}} · {{status}}{{#school}} · {{t.school}} {{school}}{{/school}}</p>
        <p>{{reason}}</p>
        <h2>{{t.tasks}}</h2>
        <table>
        <thead><tr><th scope="col">{{t.measure}}</th><th scope="col">{{t.unit}}</th><th scope="col">{{t.due}}</th><th scope="col">{{t.status}}</th></tr></thead>
        <tbody>
        {{#tasks}}<tr{{#late}} class="late"{{/late}}><td>{{measure}}</td><td>{{unit}}</td><td>{{due}}</td><td>{{#late}}<strong>⚠ {{t.late}}</strong> {{/late}}{{status}}</td></tr>{{/tasks}}
        </tbody>
        </table>
        {{#hasTeam}}
        <h2>{{t.careTeam}}</h2>
        <ul>{{#members}}<li>{{label}}：{{name}}{{#unit}} · {{unit}}{{/unit}}</li>{{/members}}</ul>
        {{/hasTeam}}
        {{#hasFollowUps}}
        <h2>{{t.followUps}}</h2>
        <table>
        <thead><tr><th scope="col">{{t.due}}</th><th scope="col">{{t.visited}}</th><th scope="col">{{t.note}}</th></tr></thead>
        <tbody>{{#followUps}}<tr><td>{{due}}</td><td>{{visited}}</td><td>{{note}}</td></tr>{{/followUps}}</tbody>
        </table>
        {{/hasFollowUps}}
        {{#hasReferrals}}
        <h2 id="referrals-h">{{t.referrals}}</h2>
        {{#error_outcome}}<p class="error" role="alert">{{error_outcome}}</p>{{/error_outcome}}
        <ul class="referrals">
        {{#referrals}}
        <li>
        <p>{{#urgent}}<strong>❗ {{t.urgent}}</strong> · {{/urgent}}{{target}} · {{requested}} · {{status}}{{#outcome}} · {{outcome}}{{/outcome}}</p>
        {{#open}}{{#taskForce}}
        <form method="post" action="/cases/{{caseId}}/outcome">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="referral" value="{{referralId}}">
        <div class="field"><label for="outcome-{{referralId}}">{{t.outcome}}</label>
        <select id="outcome-{{referralId}}" name="outcome">{{#outcomes}}<option value="{{value}}">{{label}}</option>{{/outcomes}}</select></div>
        <div class="field"><label for="outcome-note-{{referralId}}">{{t.note}}</label><input id="outcome-note-{{referralId}}" name="note"></div>
        <button type="submit">{{t.recordOutcome}}</button>
        </form>
        {{/taskForce}}{{/open}}
        </li>
        {{/referrals}}
        </ul>
        {{/hasReferrals}}
        {{#taskForce}}
        {{#isOpen}}
        <section aria-labelledby="plan-h" class="action">
        <h2 id="plan-h">{{t.addMeasure}}</h2>
        {{#error_plan}}<p class="error" role="alert">{{error_plan}}</p>{{/error_plan}}
        <form method="post" action="/cases/{{caseId}}/plan">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <div class="field"><label for="measure">{{t.measure}}</label>
        <select id="measure" name="measure">{{#measures}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/measures}}</select></div>
        <div class="field"><label for="plan-unit">{{t.unit}}</label><input id="plan-unit" name="unit" value="{{typed_unit}}" required></div>
        <div class="field"><label for="plan-note">{{t.note}}</label><input id="plan-note" name="note" value="{{typed_note}}"></div>
        <button type="submit">{{t.assign}}</button>
        </form>
        </section>
        <section aria-labelledby="team-h" class="action">
        <h2 id="team-h">{{t.careTeam}}</h2>
        <p class="hint">{{t.careTeamHint}}</p>
        {{#error_team}}<p class="error" role="alert">{{error_team}}</p>{{/error_team}}
        <form method="post" action="/cases/{{caseId}}/team">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        {{#team}}
        <fieldset><legend>{{label}}</legend>
        <div class="field"><label for="{{role}}-name">{{t.name}}</label><input id="{{role}}-name" name="{{role}}_name" value="{{name}}" autocomplete="off"></div>
        <div class="field"><label for="{{role}}-contact">{{t.contact}}</label><input id="{{role}}-contact" name="{{role}}_contact" value="{{contact}}" autocomplete="off"></div>
        <div class="field"><label for="{{role}}-unit">{{t.memberUnit}}</label><input id="{{role}}-unit" name="{{role}}_unit" value="{{unit}}"></div>
        </fieldset>
        {{/team}}
        <button type="submit">{{t.setTeam}}</button>
        </form>
        </section>
        {{#tasks}}{{#open}}
        <form method="post" action="/cases/{{caseId}}/cancel" class="action">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="task" value="{{taskId}}">
        <div class="field"><label for="cancel-{{taskId}}">{{t.cancelReason}} ({{measure}} · {{unit}})</label><input id="cancel-{{taskId}}" name="reason"></div>
        <button type="submit">{{t.cancelTask}}</button>
        </form>
        {{/open}}{{/tasks}}
        {{#error_cancel}}<p class="error" role="alert">{{error_cancel}}</p>{{/error_cancel}}
        <section aria-labelledby="close-h" class="action">
        <h2 id="close-h">{{t.closeCase}}</h2>
        <form method="post" action="/cases/{{caseId}}/close">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <div class="field{{#error_close}} invalid{{/error_close}}"><label for="review">{{t.review}}</label>
        <textarea id="review" name="review" rows="3"{{#error_close}} aria-invalid="true" aria-describedby="close-error"{{/error_close}}>{{typed_review}}</textarea>
        {{#error_close}}<p class="error" id="close-error">{{error_close}}</p>{{/error_close}}</div>
        <button type="submit">{{t.closeCase}}</button>
        </form>
        </section>
        {{/isOpen}}
        {{^isOpen}}
        <form method="post" action="/cases/{{caseId}}/reopen" class="action">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <div class="field"><label for="reopen">{{t.reopenReason}}</label><input id="reopen" name="reason"></div>
        {{#error_reopen}}<p class="error" role="alert">{{error_reopen}}</p>{{/error_reopen}}
        <button type="submit">{{t.reopen}}</button>
        </form>
        {{/isOpen}}
        {{^sealed}}
        <section aria-labelledby="seal-h" class="action">
        <h2 id="seal-h">{{t.seal}}</h2>
        <form method="post" action="/cases/{{caseId}}/seal">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <div class="field"><label for="order">{{t.order}}</label><input id="order" name="order" value="{{typed_order}}"></div>
        {{#error_seal}}<p class="error" role="alert">{{error_seal}}</p>{{/error_seal}}
        <button type="submit">{{t.seal}}</button>
        </form>
        </section>
        {{/sealed}}
        {{#sealed}}
        <section aria-labelledby="unseal-h" class="action">
        <h2 id="unseal-h">{{t.unseal}}</h2>
        <p>{{t.sealedNow}}</p>
        <form method="post" action="/cases/{{caseId}}/unseal">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <div class="field"><label for="unseal-order">{{t.unsealOrder}}</label><input id="unseal-order" name="order" value="{{typed_order}}"></div>
        {{#error_unseal}}<p class="error" role="alert">{{error_unseal}}</p>{{/error_unseal}}
        <button type="submit">{{t.unseal}}</button>
        </form>
        </section>
        {{/sealed}}
        {{/taskForce}}
        <h2>{{t.chronology}}</h2>
        <ol class="chronology">
        {{#chronology}}<li><time>{{at}}</time> {{kind}}: {{detail}} <span class="by">({{by}})</span></li>{{/chronology}}
        </ol>
        """

    static let audit = """
        <form method="get" action="/audit" class="filters">
        <div class="field"><label for="person">{{t.auditPerson}}</label><input id="person" name="person" value="{{person}}" autocomplete="off"></div>
        <button type="submit">{{t.filter}}</button>
        </form>
        {{#hasMissing}}<p class="error" role="alert">{{t.auditMissing}} {{missing}}</p>{{/hasMissing}}
        {{#empty}}<p>{{t.auditEmpty}}</p>{{/empty}}
        {{^empty}}
        <div class="scroll">
        <table>
        <caption>{{t.auditCaption}}</caption>
        <thead><tr><th scope="col">{{t.time}}</th><th scope="col">{{t.who}}</th><th scope="col">{{t.unit}}</th><th scope="col">{{t.service}}</th><th scope="col">{{t.action}}</th><th scope="col">{{t.record}}</th><th scope="col">{{t.auditReason}}</th></tr></thead>
        <tbody>
        {{#entries}}<tr><td>{{at}}</td><td>{{who}}</td><td>{{unit}}</td><td>{{service}}</td><td>{{action}}</td><td>{{#caseId}}<a href="/cases/{{caseId}}">{{resource}}</a>{{/caseId}}{{^caseId}}{{resource}}{{/caseId}}</td><td>{{reason}}</td></tr>{{/entries}}
        </tbody>
        </table>
        </div>
        {{/empty}}
        """

    static let people = """
        {{#done}}<p role="status" class="done">{{done}}</p>{{/done}}
        {{#error_row}}<p class="error" role="alert">{{error_row}}</p>{{/error_row}}
        <form method="get" action="/people" class="filters">
        <div class="field"><label for="unit-filter">{{t.unit}}</label><input id="unit-filter" name="unit" value="{{unit}}"></div>
        <button type="submit">{{t.filter}}</button>
        </form>
        <div class="scroll">
        <table>
        <caption>{{t.peopleCaption}}</caption>
        <thead><tr><th scope="col">{{t.username}}</th><th scope="col">{{t.name}}</th><th scope="col">{{t.unit}}</th><th scope="col">{{t.roleLabel}}</th><th scope="col">{{t.authenticatorCol}}</th><th scope="col">{{t.accessCol}}</th><th scope="col">{{t.actionsCol}}</th></tr></thead>
        <tbody>
        {{#people}}
        <tr><td>{{username}}</td><td>{{displayName}}</td><td>{{unit}}</td><td>{{role}}</td><td>{{authenticator}}</td>
        <td>{{#active}}{{t.canSignIn}}{{/active}}{{^active}}<strong>{{t.deactivated}}</strong>{{/active}}</td>
        <td>{{#self}}{{t.you}}{{/self}}{{^self}}
        <form method="post" action="/people/{{username}}/{{#active}}deactivate{{/active}}{{^active}}activate{{/active}}" class="inline">
        <input type="hidden" name="_csrf" value="{{csrf}}"><button type="submit">{{#active}}{{t.deactivate}}{{/active}}{{^active}}{{t.activate}}{{/active}} {{username}}</button></form>
        <form method="post" action="/people/{{username}}/reset">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <div class="field"><label for="reset-{{username}}">{{t.resetPassword}}</label><input id="reset-{{username}}" name="password" type="password" autocomplete="new-password"></div>
        <button type="submit">{{t.reset}} {{username}}</button>
        </form>
        {{/self}}</td></tr>
        {{/people}}
        </tbody>
        </table>
        </div>
        {{#next}}<nav aria-label="{{t.pages}}" class="pager"><a href="{{next}}" rel="next">{{t.nextPage}}</a></nav>{{/next}}
        <section aria-labelledby="add-h" class="action">
        <h2 id="add-h">{{t.addPerson}}</h2>
        <p class="hint">{{t.addPersonHint}}</p>
        <form method="post" action="/people" novalidate>
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <div class="field{{#error_username}} invalid{{/error_username}}"><label for="new-username">{{t.username}}</label>
        <input id="new-username" name="username" value="{{typed_username}}" autocomplete="off"{{#error_username}} aria-invalid="true" aria-describedby="new-username-error"{{/error_username}}>
        {{#error_username}}<p class="error" id="new-username-error">{{error_username}}</p>{{/error_username}}</div>
        <div class="field{{#error_displayName}} invalid{{/error_displayName}}"><label for="new-name">{{t.name}}</label>
        <input id="new-name" name="displayName" value="{{typed_displayName}}" autocomplete="off"{{#error_displayName}} aria-invalid="true" aria-describedby="new-name-error"{{/error_displayName}}>
        {{#error_displayName}}<p class="error" id="new-name-error">{{error_displayName}}</p>{{/error_displayName}}</div>
        <div class="field{{#error_agency}} invalid{{/error_agency}}"><label for="new-agency">{{t.agencyCode}}</label>
        <input id="new-agency" name="agency" value="{{typed_agency}}"{{#error_agency}} aria-invalid="true" aria-describedby="new-agency-error"{{/error_agency}}>
        {{#error_agency}}<p class="error" id="new-agency-error">{{error_agency}}</p>{{/error_agency}}</div>
        <div class="field{{#error_unit}} invalid{{/error_unit}}"><label for="new-unit">{{t.unitCode}}</label>
        <input id="new-unit" name="unit" value="{{typed_unit}}"{{#error_unit}} aria-invalid="true" aria-describedby="new-unit-error"{{/error_unit}}>
        {{#error_unit}}<p class="error" id="new-unit-error">{{error_unit}}</p>{{/error_unit}}</div>
        <div class="field{{#error_role}} invalid{{/error_role}}"><label for="new-role">{{t.roleLabel}}</label>
        <select id="new-role" name="role"{{#error_role}} aria-invalid="true" aria-describedby="new-role-error"{{/error_role}}><option value="">—</option>{{#roles}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/roles}}</select>
        {{#error_role}}<p class="error" id="new-role-error">{{error_role}}</p>{{/error_role}}</div>
        <div class="field{{#error_password}} invalid{{/error_password}}"><label for="new-password">{{t.firstPassword}}</label>
        <input id="new-password" name="password" type="password" autocomplete="new-password"{{#error_password}} aria-invalid="true" aria-describedby="new-password-error"{{/error_password}}>
        {{#error_password}}<p class="error" id="new-password-error">{{error_password}}</p>{{/error_password}}</div>
        <button type="submit">{{t.addPerson}}</button>
        </form>
        </section>
        """

    static let operatorHome = """
        <section aria-labelledby="health-h">
        <h2 id="health-h">{{t.servicesHealth}}</h2>
        <ul>{{#services}}<li>{{name}}: {{#ready}}✔ {{t.ready}}{{/ready}}{{^ready}}<strong>✖ {{t.notReady}}</strong>{{/ready}}</li>{{/services}}</ul>
        </section>
        <p><a href="/operations">{{t.operationsTitle}}</a> · <a href="/dead">{{t.deadTitle}}</a> · <a href="/agencies">{{t.agenciesTitle}}</a> · <a href="/routing">{{t.routingTitle}}</a> · <a href="/people">{{t.peopleTitle}}</a></p>
        """

    static let sealed = """
        <p>{{t.sealedIntro}}</p>
        <form method="post" action="/cases/{{caseId}}/access">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <div class="field{{#error}} invalid{{/error}}">
        <label for="reason">{{t.accessReason}}</label>
        <p class="hint" id="reason-hint">{{t.accessRecorded}}</p>
        <textarea id="reason" name="reason" rows="3" aria-describedby="reason-hint{{#error}} reason-error{{/error}}"{{#error}} aria-invalid="true"{{/error}}>{{typedReason}}</textarea>
        {{#error}}<p class="error" id="reason-error">{{error}}</p>{{/error}}
        </div>
        <button type="submit">{{t.openSealed}}</button>
        </form>
        <p><a href="{{back}}">{{t.cases}}</a></p>
        """

    static let account = """
        {{#changed}}<p role="status" class="done">{{t.passwordChanged}}</p>{{/changed}}
        <section aria-labelledby="password-h">
        <h2 id="password-h">{{t.changePassword}}</h2>
        <form method="post" action="/account/password" novalidate>
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <div class="field{{#error_current}} invalid{{/error_current}}">
        <label for="current">{{t.currentPassword}}</label>
        <input id="current" name="current" type="password" autocomplete="current-password"{{#error_current}} aria-invalid="true" aria-describedby="current-error"{{/error_current}}>
        {{#error_current}}<p class="error" id="current-error">{{error_current}}</p>{{/error_current}}
        </div>
        <div class="field{{#error_new}} invalid{{/error_new}}">
        <label for="new">{{t.newPassword}}</label>
        <p class="hint" id="new-hint">{{t.passwordRule}}</p>
        <input id="new" name="new" type="password" autocomplete="new-password" aria-describedby="new-hint{{#error_new}} new-error{{/error_new}}"{{#error_new}} aria-invalid="true"{{/error_new}}>
        {{#error_new}}<p class="error" id="new-error">{{error_new}}</p>{{/error_new}}
        </div>
        <div class="field{{#error_repeat}} invalid{{/error_repeat}}">
        <label for="repeat">{{t.repeatPassword}}</label>
        <input id="repeat" name="repeat" type="password" autocomplete="new-password"{{#error_repeat}} aria-invalid="true" aria-describedby="repeat-error"{{/error_repeat}}>
        {{#error_repeat}}<p class="error" id="repeat-error">{{error_repeat}}</p>{{/error_repeat}}
        </div>
        <button type="submit">{{t.changePassword}}</button>
        </form>
        </section>
        <section aria-labelledby="authenticator-h">
        <h2 id="authenticator-h">{{t.newAuthenticator}}</h2>
        <p>{{t.newAuthenticatorIntro}}</p>
        <form method="post" action="/account/authenticator" novalidate>
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <div class="field{{#error_authenticator}} invalid{{/error_authenticator}}">
        <label for="authenticator-password">{{t.currentPassword}}</label>
        <input id="authenticator-password" name="current" type="password" autocomplete="current-password"{{#error_authenticator}} aria-invalid="true" aria-describedby="authenticator-error"{{/error_authenticator}}>
        {{#error_authenticator}}<p class="error" id="authenticator-error">{{error_authenticator}}</p>{{/error_authenticator}}
        </div>
        <button type="submit">{{t.newAuthenticator}}</button>
        </form>
        </section>
        <section aria-labelledby="language-h">
        <h2 id="language-h">{{t.language}}</h2>
        <form method="post" action="/account/language">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <fieldset>
        <legend>{{t.language}}</legend>
        <p><input type="radio" id="lang-zh" name="language" value="zh"{{#zh}} checked{{/zh}}> <label for="lang-zh" lang="zh">中文</label></p>
        <p><input type="radio" id="lang-en" name="language" value="en"{{#en}} checked{{/en}}> <label for="lang-en" lang="en">English</label></p>
        </fieldset>
        <button type="submit">{{t.save}}</button>
        </form>
        </section>
        """

    static let problem = """
        <p role="alert">{{message}}</p>
        <p><a href="{{back}}">{{t.tryAgain}}</a></p>
        """

    static let ledgers = """
        <p>{{t.ledgersIntro}}</p>
        <table>
        <caption>{{t.ledgersCaption}}</caption>
        <thead><tr><th scope="col">{{t.ledgerCol}}</th><th scope="col">{{t.openEntries}}</th><th scope="col">{{t.whoIsOnIt}}</th></tr></thead>
        <tbody>
        {{#ledgers}}<tr><th scope="row"><a href="/ledgers/{{ledger}}">{{name}}</a></th><td>{{count}}</td><td>{{about}}</td></tr>{{/ledgers}}
        </tbody>
        </table>
        """

    static let ledger = """
        <p>{{about}}</p>
        <form method="get" action="/ledgers/{{ledger}}" class="filters">
        <div class="field"><label for="school">{{t.school}}</label><input id="school" name="school" value="{{school}}"></div>
        <div class="field"><label for="district">{{t.districtCol}}</label><input id="district" name="district" value="{{district}}" inputmode="numeric"></div>
        <div class="field"><label for="tier">{{t.tier}}</label>
        <select id="tier" name="tier"><option value="">{{t.any}}</option>
        {{#tiers}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/tiers}}
        </select></div>
        <div class="field{{#error_since}} invalid{{/error_since}}"><label for="since">{{t.sinceLabel}}</label>
        <input id="since" name="since" type="date" value="{{since}}"{{#error_since}} aria-invalid="true" aria-describedby="since-error"{{/error_since}}>
        {{#error_since}}<p class="error" id="since-error">{{error_since}}</p>{{/error_since}}</div>
        <button type="submit">{{t.filter}}</button>
        </form>
        {{#empty}}<p>{{t.ledgerEmpty}}</p>{{/empty}}
        {{^empty}}
        <div class="scroll">
        <table>
        <caption>{{t.ledgerCaption}}</caption>
        <thead><tr><th scope="col">{{t.subjectCol}}</th><th scope="col">{{t.tier}}</th><th scope="col">{{t.scoreCol}}</th><th scope="col">{{t.school}}</th><th scope="col">{{t.districtCol}}</th><th scope="col">{{t.enteredCol}}</th><th scope="col">{{t.ledgerReasonCol}}</th></tr></thead>
        <tbody>
        {{#entries}}<tr><td><a href="/subjects/{{subjectId}}">{{short}}</a></td><td><span aria-hidden="true">{{tierIcon}}</span> {{tier}}</td><td>{{score}}</td><td>{{entrySchool}}</td><td>{{entryDistrict}}</td><td>{{entered}}</td><td>{{reason}}</td></tr>{{/entries}}
        </tbody>
        </table>
        </div>
        {{/empty}}
        <nav aria-label="{{t.pages}}" class="pager">{{#first}}<a href="{{first}}">{{t.firstPage}}</a> {{/first}}{{#next}}<a href="{{next}}" rel="next">{{t.nextPage}}</a>{{/next}}</nav>
        {{#taskForce}}{{> exportForm}}{{/taskForce}}
        """

    static let subject = """
        <p>{{t.subjectCol}} <code>{{subjectId}}</code></p>
        <ul class="counts">
        <li>{{t.tier}} <strong><span aria-hidden="true">{{tierIcon}}</span> {{tier}}</strong></li>
        <li>{{t.scoreCol}} <strong>{{score}}</strong></li>
        <li>{{t.modelCol}} <strong class="small">{{model}}</strong></li>
        <li>{{t.assessedCol}} <strong class="small">{{assessed}}</strong></li>
        </ul>
        {{#urgent}}<p><strong>⚠ {{t.urgentTier}}</strong></p>{{/urgent}}
        <p>{{#school}}{{t.school}} {{school}} · {{/school}}{{#district}}{{t.districtCol}} {{district}} · {{/district}}{{#review}}{{t.reviewAt}} {{review}}{{/review}}</p>
        <h2 id="factors-h">{{t.factorsTitle}}</h2>
        {{^hasFactors}}<p>{{t.noFactors}}</p>{{/hasFactors}}
        {{#hasFactors}}
        <div class="scroll">
        <table aria-labelledby="factors-h">
        <thead><tr><th scope="col">{{t.factorCol}}</th><th scope="col">{{t.dimensionCol}}</th><th scope="col">{{t.weightCol}}</th><th scope="col">{{t.sinceCol}}</th><th scope="col">{{t.eventCol}}</th><th scope="col">{{t.detailCol}}</th></tr></thead>
        <tbody>
        {{#factors}}<tr><th scope="row">{{name}} <span class="by">({{id}})</span></th><td>{{dimension}}</td><td>{{weight}}</td><td>{{since}}</td><td><code>{{event}}</code></td><td>{{detail}}</td></tr>{{/factors}}
        </tbody>
        </table>
        </div>
        {{/hasFactors}}
        <h2 id="ledgers-h">{{t.ledgers}}</h2>
        {{^hasLedgers}}<p>{{t.onNoLedger}}</p>{{/hasLedgers}}
        {{#hasLedgers}}
        <div class="scroll">
        <table aria-labelledby="ledgers-h">
        <thead><tr><th scope="col">{{t.ledgerCol}}</th><th scope="col">{{t.enteredCol}}</th><th scope="col">{{t.ledgerReasonCol}}</th><th scope="col">{{t.leftCol}}</th></tr></thead>
        <tbody>
        {{#ledgers}}<tr><th scope="row"><a href="/ledgers/{{ledger}}">{{name}}</a></th><td>{{entered}}</td><td>{{reason}}</td><td>{{left}}{{#leftReason}} · {{leftReason}}{{/leftReason}}</td></tr>{{/ledgers}}
        </tbody>
        </table>
        </div>
        {{/hasLedgers}}
        <h2 id="history-h">{{t.historyTitle}}</h2>
        <div class="scroll">
        <table aria-labelledby="history-h">
        <thead><tr><th scope="col">{{t.time}}</th><th scope="col">{{t.tierChange}}</th><th scope="col">{{t.scoreCol}}</th><th scope="col">{{t.causeCol}}</th><th scope="col">{{t.modelCol}}</th><th scope="col">{{t.reasonsCol}}</th></tr></thead>
        <tbody>
        {{#history}}<tr><td>{{at}}</td><td>{{previous}} → <span aria-hidden="true">{{tierIcon}}</span> {{tier}}{{#urgent}} <strong>⚠ {{t.urgent}}</strong>{{/urgent}}</td><td>{{score}}</td><td><code>{{cause}}</code></td><td>{{model}}</td><td>{{reasons}}</td></tr>{{/history}}
        </tbody>
        </table>
        </div>
        <h2 id="cases-h">{{t.subjectCases}}</h2>
        {{#noCasesKnown}}<p>{{t.noSubjectCases}}</p>{{/noCasesKnown}}
        {{#casesUnknown}}<p class="error" role="alert">{{t.casesUnknown}}</p>{{/casesUnknown}}
        {{#hasCases}}
        <table aria-labelledby="cases-h">
        <thead><tr><th scope="col">{{t.case}}</th><th scope="col">{{t.tier}}</th><th scope="col">{{t.status}}</th><th scope="col">{{t.opened}}</th></tr></thead>
        <tbody>
        {{#cases}}<tr><td><a href="/cases/{{caseId}}">{{short}}</a></td><td>{{tier}}</td><td>{{status}}</td><td>{{opened}}</td></tr>{{/cases}}
        </tbody>
        </table>
        {{/hasCases}}
        """

    static let stats = """
        <p>{{t.statsIntro}}</p>
        {{#sections}}
        <section aria-labelledby="{{id}}-h">
        <h2 id="{{id}}-h">{{title}}</h2>
        {{#empty}}<p>{{t.nothingCounted}}</p>{{/empty}}
        {{^empty}}
        <div class="split">
        <figure>{{{svg}}}</figure>
        <div class="scroll">
        <table>
        <caption>{{caption}}</caption>
        <thead><tr><th scope="col">{{title}}</th><th scope="col">{{t.countCol}}</th></tr></thead>
        <tbody>
        {{#rows}}<tr><th scope="row">{{label}}</th><td>{{count}}</td></tr>{{/rows}}
        </tbody>
        </table>
        </div>
        </div>
        {{/empty}}
        </section>
        {{/sections}}
        """

    static let safetyNav = """
        <nav aria-label="{{t.schoolSafety}}" class="subnav"><a href="/ratings">{{t.ratingsTitle}}</a> <a href="/schools">{{t.schoolsTitle}}</a> <a href="/inspections">{{t.inspectionsTitle}}</a> <a href="/hazards">{{t.hazardsTitle}}</a> <a href="/venues">{{t.venuesTitle}}</a></nav>
        """

    static let schools = """
        {{> safetyNav}}
        {{#hasCoverage}}
        <h2>{{t.coverageTitle}}</h2>
        <ul class="counts">{{#coverage}}<li>{{label}} <strong>{{percent}}%</strong></li>{{/coverage}}</ul>
        {{/hasCoverage}}
        <form method="get" action="/schools" class="filters">
        <div class="field"><label for="district">{{t.districtCol}}</label><input id="district" name="district" value="{{filterDistrict}}" inputmode="numeric"></div>
        <button type="submit">{{t.filter}}</button>
        </form>
        {{#empty}}<p>{{t.noSchools}}</p>{{/empty}}
        {{^empty}}
        <div class="scroll">
        <table>
        <caption>{{t.schoolsCaption}} {{total}}</caption>
        <thead><tr><th scope="col">{{t.schoolCodeCol}}</th><th scope="col">{{t.schoolNameCol}}</th><th scope="col">{{t.schoolTypeCol}}</th><th scope="col">{{t.districtCol}}</th><th scope="col">{{t.policeOfficerCol}}</th><th scope="col">{{t.legalVicePrincipalCol}}</th><th scope="col">{{t.guardPostsCol}}</th></tr></thead>
        <tbody>
        {{#schools}}<tr><th scope="row"><a href="/schools/{{code}}">{{code}}</a></th><td>{{name}}</td><td>{{type}}</td><td>{{district}}</td><td>{{officer}}{{#officerUnit}} · {{officerUnit}}{{/officerUnit}}</td><td>{{vice}}{{#viceUnit}} · {{viceUnit}}{{/viceUnit}}</td><td>{{posts}}</td></tr>{{/schools}}
        </tbody>
        </table>
        </div>
        {{/empty}}
        <nav aria-label="{{t.pages}}" class="pager">{{#first}}<a href="{{first}}">{{t.firstPage}}</a> {{/first}}{{#next}}<a href="{{next}}" rel="next">{{t.nextPage}}</a>{{/next}}</nav>
        """

    static let school = """
        {{> safetyNav}}
        {{#saved}}<p role="status" class="done">{{t.schoolSaved}}</p>{{/saved}}
        <p>{{t.schoolCodeCol}} <strong>{{code}}</strong>{{#district}} · {{t.districtCol}} {{district}}{{/district}}</p>
        <h2 id="ratings-h">{{t.ratingHistory}}</h2>
        {{^hasRatings}}<p>{{t.notRatedYet}}</p>{{/hasRatings}}
        {{#hasRatings}}<table aria-labelledby="ratings-h"><thead><tr><th scope="col">{{t.quarterCol}}</th><th scope="col">{{t.ratingCol}}</th></tr></thead>
        <tbody>{{#ratings}}<tr><th scope="row">{{quarter}}</th><td><span aria-hidden="true">{{icon}}</span> {{rating}}</td></tr>{{/ratings}}</tbody></table>{{/hasRatings}}
        <h2 id="registry-h">{{t.registryTitle}}</h2>
        {{#mayEdit}}
        <form method="post" action="/schools/{{code}}" novalidate aria-labelledby="registry-h">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="district" value="{{district}}">
        <div class="field{{#error_name}} invalid{{/error_name}}"><label for="name">{{t.schoolNameCol}}</label><input id="name" name="name" value="{{name}}"{{#error_name}} aria-invalid="true" aria-describedby="name-error"{{/error_name}}>{{#error_name}}<p class="error" id="name-error">{{error_name}}</p>{{/error_name}}</div>
        <div class="field{{#error_type}} invalid{{/error_type}}"><label for="type">{{t.schoolTypeCol}}</label><select id="type" name="type"{{#error_type}} aria-invalid="true" aria-describedby="type-error"{{/error_type}}><option value="">—</option>{{#types}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/types}}</select>{{#error_type}}<p class="error" id="type-error">{{error_type}}</p>{{/error_type}}</div>
        <div class="field"><label for="policeOfficer">{{t.policeOfficerCol}}</label><input id="policeOfficer" name="policeOfficer" value="{{policeOfficer}}"></div>
        <div class="field{{#error_policeUnit}} invalid{{/error_policeUnit}}"><label for="policeUnit">{{t.policeUnitLabel}}</label><p class="hint" id="policeUnit-hint">{{t.unitCodeHint}}</p><input id="policeUnit" name="policeUnit" value="{{policeUnit}}" aria-describedby="policeUnit-hint{{#error_policeUnit}} policeUnit-error{{/error_policeUnit}}"{{#error_policeUnit}} aria-invalid="true"{{/error_policeUnit}}>{{#error_policeUnit}}<p class="error" id="policeUnit-error">{{error_policeUnit}}</p>{{/error_policeUnit}}</div>
        <div class="field"><label for="legalVicePrincipal">{{t.legalVicePrincipalCol}}</label><input id="legalVicePrincipal" name="legalVicePrincipal" value="{{legalVicePrincipal}}"></div>
        <div class="field{{#error_legalVicePrincipalUnit}} invalid{{/error_legalVicePrincipalUnit}}"><label for="legalVicePrincipalUnit">{{t.vicePrincipalUnitLabel}}</label><input id="legalVicePrincipalUnit" name="legalVicePrincipalUnit" value="{{legalVicePrincipalUnit}}"{{#error_legalVicePrincipalUnit}} aria-invalid="true" aria-describedby="legalVicePrincipalUnit-error"{{/error_legalVicePrincipalUnit}}>{{#error_legalVicePrincipalUnit}}<p class="error" id="legalVicePrincipalUnit-error">{{error_legalVicePrincipalUnit}}</p>{{/error_legalVicePrincipalUnit}}</div>
        <div class="field{{#error_guardPosts}} invalid{{/error_guardPosts}}"><label for="guardPosts">{{t.guardPostsCol}}</label><input id="guardPosts" name="guardPosts" inputmode="numeric" value="{{guardPosts}}"{{#error_guardPosts}} aria-invalid="true" aria-describedby="guardPosts-error"{{/error_guardPosts}}>{{#error_guardPosts}}<p class="error" id="guardPosts-error">{{error_guardPosts}}</p>{{/error_guardPosts}}</div>
        <button type="submit">{{t.save}}</button>
        </form>
        {{/mayEdit}}
        {{^mayEdit}}
        <dl><dt>{{t.schoolNameCol}}</dt><dd>{{name}}</dd><dt>{{t.schoolTypeCol}}</dt><dd>{{typeName}}</dd><dt>{{t.policeOfficerCol}}</dt><dd>{{policeOfficer}} {{policeUnit}}</dd>
        <dt>{{t.legalVicePrincipalCol}}</dt><dd>{{legalVicePrincipal}} {{legalVicePrincipalUnit}}</dd><dt>{{t.guardPostsCol}}</dt><dd>{{guardPosts}}</dd></dl>
        {{/mayEdit}}
        <h2 id="hazards-h">{{t.hazardsTitle}}</h2>
        {{^hasHazards}}<p>{{t.noHazards}}</p>{{/hasHazards}}
        {{#hasHazards}}{{> hazardTable}}{{/hasHazards}}
        <h2 id="inspections-h">{{t.inspectionsTitle}}</h2>
        {{^hasInspections}}<p>{{t.noInspections}}</p>{{/hasInspections}}
        {{#hasInspections}}{{> inspectionTable}}{{/hasInspections}}
        """

    static let hazardTable = """
        <div class="scroll"><table>
        <caption>{{t.hazardsCaptionAll}}</caption>
        <thead><tr><th scope="col">{{t.hazardItem}}</th><th scope="col">{{t.school}}</th><th scope="col">{{t.severity}}</th><th scope="col">{{t.rectifyingUnit}}</th><th scope="col">{{t.reportedCol}}</th><th scope="col">{{t.rectifyBy}}</th><th scope="col">{{t.reinspectedCol}}</th></tr></thead>
        <tbody>
        {{#hazards}}<tr{{#late}} class="late"{{/late}}><td>{{item}}</td><td><a href="/schools/{{school}}">{{school}}</a></td><td>{{severity}}</td><td>{{unit}}</td><td>{{reported}}</td><td>{{#late}}<strong>⚠ {{t.late}}</strong> {{/late}}{{due}}</td><td>{{closed}}</td></tr>{{/hazards}}
        </tbody></table></div>
        """

    static let inspectionTable = """
        <div class="scroll"><table>
        <caption>{{t.inspectionsCaption}}</caption>
        <thead><tr><th scope="col">{{t.time}}</th><th scope="col">{{t.school}}</th><th scope="col">{{t.inspectionKindCol}}</th><th scope="col">{{t.unit}}</th><th scope="col">{{t.passedCol}}</th><th scope="col">{{t.failedCol}}</th></tr></thead>
        <tbody>
        {{#inspections}}<tr><td>{{at}}</td><td><a href="/schools/{{school}}">{{school}}</a></td><td>{{kind}}</td><td>{{unit}}</td><td>{{passed}}</td><td>{{failed}}</td></tr>{{/inspections}}
        </tbody></table></div>
        """

    static let inspections = """
        {{> safetyNav}}
        <form method="get" action="/inspections" class="filters">
        <div class="field"><label for="quarter">{{t.quarterCol}}</label><select id="quarter" name="quarter">{{#quarters}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/quarters}}</select></div>
        <button type="submit">{{t.show}}</button>
        </form>
        <p>{{quarterName}}: {{t.schoolsInspected}} <strong>{{inspected}}</strong>{{#schools}} / {{schools}}{{/schools}}</p>
        {{#coverageChart}}
        <section aria-labelledby="coverage-h"><h2 id="coverage-h">{{t.coverageTitle}}</h2>
        <div class="split"><figure>{{{coverageChart}}}</figure>
        <table><caption>{{t.coverageAbout}}</caption><thead><tr><th scope="col">{{t.safeguardCol}}</th><th scope="col">{{t.shareCol}}</th></tr></thead>
        <tbody>{{#coverage}}<tr><th scope="row">{{label}}</th><td>{{percent}}%</td></tr>{{/coverage}}</tbody></table></div>
        </section>
        {{/coverageChart}}
        <h2>{{t.inspectionsTitle}}</h2>
        {{#empty}}<p>{{t.noInspections}}</p>{{/empty}}
        {{^empty}}{{> inspectionTable}}{{/empty}}
        """

    static let hazards = """
        {{> safetyNav}}
        <form method="get" action="/hazards" class="filters">
        <div class="field"><label for="state">{{t.hazardStateLabel}}</label><select id="state" name="state">{{#states}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/states}}</select></div>
        <div class="field"><label for="school">{{t.school}}</label><input id="school" name="school" value="{{filterSchool}}"></div>
        <div class="field"><label for="unit">{{t.rectifyingUnit}}</label><input id="unit" name="unit" value="{{filterUnit}}"></div>
        <button type="submit">{{t.filter}}</button>
        </form>
        {{#hasTally}}
        <div class="split">
        <table><caption>{{t.hazardsBySchool}}</caption><thead><tr><th scope="col">{{t.school}}</th><th scope="col">{{t.countCol}}</th><th scope="col">{{t.lateCol}}</th></tr></thead>
        <tbody>{{#bySchool}}<tr><th scope="row"><a href="/hazards?state=all&amp;school={{name}}">{{name}}</a></th><td>{{count}}</td><td>{{late}}</td></tr>{{/bySchool}}</tbody></table>
        <table><caption>{{t.hazardsByUnit}}</caption><thead><tr><th scope="col">{{t.rectifyingUnit}}</th><th scope="col">{{t.countCol}}</th><th scope="col">{{t.lateCol}}</th></tr></thead>
        <tbody>{{#byUnit}}<tr><th scope="row"><a href="/hazards?state=all&amp;unit={{name}}">{{name}}</a></th><td>{{count}}</td><td>{{late}}</td></tr>{{/byUnit}}</tbody></table>
        </div>
        {{/hasTally}}
        <h2>{{t.hazardsTitle}} ({{count}})</h2>
        {{#empty}}<p>{{t.noHazards}}</p>{{/empty}}
        {{^empty}}{{> hazardTable}}{{/empty}}
        """

    static let venues = """
        {{> safetyNav}}
        <p>{{#flaggedOnly}}{{t.venuesFlaggedOnly}} <a href="/venues?all=1">{{t.venuesShowAll}}</a>{{/flaggedOnly}}{{^flaggedOnly}}<a href="/venues">{{t.venuesShowFlagged}}</a>{{/flaggedOnly}}</p>
        {{#empty}}<p>{{t.noVenues}}</p>{{/empty}}
        {{^empty}}
        <div class="scroll"><table>
        <caption>{{t.venuesCaption}}</caption>
        <thead><tr><th scope="col">{{t.venueCol}}</th><th scope="col">{{t.venueKindCol}}</th><th scope="col">{{t.addressCol}}</th><th scope="col">{{t.findingsCol}}</th><th scope="col">{{t.lastFoundCol}}</th><th scope="col">{{t.flaggedCol}}</th></tr></thead>
        <tbody>
        {{#venues}}<tr><th scope="row">{{name}}</th><td>{{kind}}</td><td>{{address}}</td><td>{{findings}}</td><td>{{last}}</td><td>{{#isFlagged}}<strong>⚑ {{flagged}}</strong>{{/isFlagged}}{{^isFlagged}}—{{/isFlagged}}</td></tr>{{/venues}}
        </tbody></table></div>
        {{/empty}}
        """

    static let ratings = """
        {{> safetyNav}}
        {{#done}}<p role="status" class="done">{{done}}</p>{{/done}}
        <form method="get" action="/ratings" class="filters">
        <div class="field"><label for="quarter">{{t.quarterCol}}</label><select id="quarter" name="quarter">{{#quarters}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/quarters}}</select></div>
        <div class="field"><label for="district">{{t.districtCol}}</label><input id="district" name="district" value="{{district}}" inputmode="numeric"></div>
        <button type="submit">{{t.show}}</button>
        </form>
        <h2>{{quarterName}}{{#district}} · {{district}}{{/district}}</h2>
        <ul class="counts">
        {{#counts}}<li><span aria-hidden="true">{{icon}}</span> {{label}} <strong>{{count}}</strong></li>{{/counts}}
        <li>↓ {{movementDown}} <strong>{{fellCount}}</strong></li>
        <li>↑ {{movementUp}} <strong>{{roseCount}}</strong></li>
        </ul>
        <p><a href="/ratings/{{quarter}}/bulletin{{filterQuery}}">{{t.bulletinPrint}}</a> · <a href="/ratings/{{quarter}}/bulletin.md{{filterQuery}}">{{t.bulletinDownload}}</a> · <a href="/ratings/{{quarter}}/export?format=csv{{filterAnd}}">{{t.ratingCSV}}</a> · <a href="/ratings/{{quarter}}/export?format=xlsx{{filterAnd}}">{{t.ratingXLSX}}</a></p>
        <section aria-labelledby="trend-h">
        <h2 id="trend-h">{{t.trendTitle}}</h2>
        <div class="split"><figure>{{{trend}}}</figure>
        <table><caption>{{t.trendAbout}}</caption>
        <thead><tr><th scope="col">{{t.quarterCol}}</th><th scope="col">{{ratingModel}}</th><th scope="col">{{ratingCompliant}}</th><th scope="col">{{ratingNonCompliant}}</th></tr></thead>
        <tbody>{{#trendRows}}<tr><th scope="row">{{quarter}}</th><td>{{model}}</td><td>{{compliant}}</td><td>{{nonCompliant}}</td></tr>{{/trendRows}}</tbody></table></div>
        </section>
        <h2 id="schools-h">{{t.ratedSchools}} ({{total}})</h2>
        {{#empty}}<p>{{t.notRatedQuarter}}</p>{{/empty}}
        {{^empty}}
        <div class="scroll"><table aria-labelledby="schools-h">
        <caption>{{t.ratedCaption}} {{pageOf}}</caption>
        <thead><tr><th scope="col">{{t.school}}</th><th scope="col">{{t.ratingCol}}</th><th scope="col">{{t.previousRatingCol}}</th><th scope="col">{{t.movementCol}}</th><th scope="col">{{t.reasonsCol}}</th></tr></thead>
        <tbody>
        {{#schools}}<tr{{#fell}} class="late"{{/fell}}><th scope="row"><a href="/schools/{{code}}">{{code}}</a>{{#name}} {{name}}{{/name}}</th><td><span aria-hidden="true">{{icon}}</span> {{rating}}</td><td>{{previous}}</td><td>{{#fell}}<strong>{{arrow}} {{movement}}</strong>{{/fell}}{{^fell}}{{arrow}} {{movement}}{{/fell}}</td><td>{{reasons}}</td></tr>{{/schools}}
        </tbody></table></div>
        {{/empty}}
        <nav aria-label="{{t.pages}}" class="pager">{{#first}}<a href="{{first}}">{{t.firstPage}}</a> {{/first}}{{#next}}<a href="{{next}}" rel="next">{{t.nextPage}}</a>{{/next}}</nav>
        {{#mayCompute}}
        <section class="action" aria-labelledby="compute-h">
        <h2 id="compute-h">{{t.computeTitle}}</h2>
        <p class="hint">{{t.computeHint}}</p>
        <form method="post" action="/ratings/{{quarter}}/compute">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="district" value="{{district}}">
        <button type="submit">{{t.computeButton}} {{quarterName}}</button>
        </form>
        </section>
        {{/mayCompute}}
        """

    static let bulletin = """
        <article class="bulletin">
        <p class="no-print"><a href="/ratings?quarter={{quarter}}">{{t.backToRatings}}</a> · <a href="/ratings/{{quarter}}/bulletin.md{{filterQuery}}">{{t.bulletinDownload}}</a> · {{t.printHint}}</p>
        <h2>{{heading}}</h2>
        <p>{{t.districtCol}}: {{district}} · {{t.issuedOn}} {{issued}} · {{t.ratedSchools}} {{total}}</p>
        {{#empty}}<p>{{t.notRatedQuarter}}</p>{{/empty}}
        <ul>{{#groups}}<li>{{title}}: {{count}}</li>{{/groups}}</ul>
        {{#hasFell}}
        <h3>{{t.schoolsThatFell}}</h3>
        <table><thead><tr><th scope="col">{{t.school}}</th><th scope="col">{{t.previousRatingCol}}</th><th scope="col">{{t.ratingCol}}</th><th scope="col">{{t.reasonsCol}}</th></tr></thead>
        <tbody>{{#fell}}<tr><th scope="row">{{code}} {{name}}</th><td>{{previous}}</td><td>{{rating}}</td><td>{{reasons}}</td></tr>{{/fell}}</tbody></table>
        {{/hasFell}}
        {{#groups}}{{#any}}
        <h3>{{title}} ({{count}})</h3>
        <table><thead><tr><th scope="col">{{t.school}}</th><th scope="col">{{t.movementCol}}</th><th scope="col">{{t.reasonsCol}}</th></tr></thead>
        <tbody>{{#schools}}<tr><th scope="row">{{code}} {{name}}</th><td>{{movement}}</td><td>{{reasons}}</td></tr>{{/schools}}</tbody></table>
        {{/any}}{{/groups}}
        </article>
        """

    static let summary = """
        <div class="pickers">
        <form method="get" action="/summary" class="filters" aria-labelledby="pick-month">
        <input type="hidden" name="period" value="month">
        <p id="pick-month" class="picker-title">{{t.byMonth}}</p>
        <div class="field"><label for="month-year">{{t.year}}</label><select id="month-year" name="year">{{#years}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/years}}</select></div>
        <div class="field"><label for="month">{{t.month}}</label><select id="month" name="month">{{#months}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/months}}</select></div>
        <button type="submit">{{t.show}}</button>
        </form>
        <form method="get" action="/summary" class="filters" aria-labelledby="pick-quarter">
        <input type="hidden" name="period" value="quarter">
        <p id="pick-quarter" class="picker-title">{{t.byQuarter}}</p>
        <div class="field"><label for="quarter-year">{{t.year}}</label><select id="quarter-year" name="year">{{#years}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/years}}</select></div>
        <div class="field"><label for="quarter">{{t.quarterCol}}</label><select id="quarter" name="quarter">{{#quarterChoices}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/quarterChoices}}</select></div>
        <button type="submit">{{t.show}}</button>
        </form>
        <form method="get" action="/summary" class="filters" aria-labelledby="pick-week">
        <input type="hidden" name="period" value="week">
        <p id="pick-week" class="picker-title">{{t.byWeek}}</p>
        <div class="field{{#error_day}} invalid{{/error_day}}"><label for="day">{{t.dayInWeek}}</label><input id="day" name="day" type="date" value="{{day}}"{{#error_day}} aria-invalid="true" aria-describedby="day-error"{{/error_day}}>{{#error_day}}<p class="error" id="day-error">{{error_day}}</p>{{/error_day}}</div>
        <button type="submit">{{t.show}}</button>
        </form>
        </div>
        {{#periodName}}<h2>{{periodName}}</h2>{{/periodName}}
        {{#counts}}
        <ul class="counts">
        <li>{{t.newCases}} <strong>{{casesOpened}}</strong></li>
        <li>{{t.tasksAssigned}} <strong>{{tasksAssigned}}</strong></li>
        <li>{{t.wentLate}} <strong>{{tasksLate}}</strong></li>
        <li>{{t.tasksCompleted}} <strong>{{tasksCompleted}}</strong></li>
        <li>{{t.casesClosed}} <strong>{{casesClosed}}</strong></li>
        <li>{{t.openCases}} <strong>{{openCases}}</strong></li>
        <li>{{t.lateTasks}} <strong>{{lateTasksOutstanding}}</strong></li>
        </ul>
        {{/counts}}
        {{#hasDays}}{{> loopDays}}{{/hasDays}}
        """

    static let operatorNav = """
        <nav aria-label="{{t.operationsNav}}" class="subnav"><a href="/operations">{{t.operationsTitle}}</a> <a href="/dead">{{t.deadTitle}}</a> <a href="/agencies">{{t.agenciesTitle}}</a> <a href="/routing">{{t.routingTitle}}</a> <a href="/people">{{t.peopleTitle}}</a></nav>
        """

    static let operations = """
        {{> operatorNav}}
        <div class="scroll"><table>
        <caption>{{t.operationsCaption}}</caption>
        <thead><tr><th scope="col">{{t.service}}</th><th scope="col">{{t.healthCol}}</th><th scope="col">{{t.handledCol}}</th><th scope="col">{{t.asideCol}}</th><th scope="col">{{t.retriedCol}}</th><th scope="col">{{t.unsentCol}}</th><th scope="col">{{t.sentCol}}</th></tr></thead>
        <tbody>
        {{#services}}<tr><th scope="row">{{name}}</th><td>{{#ready}}✔ {{t.ready}}{{/ready}}{{^ready}}<strong>✖ {{t.notReady}}</strong>{{/ready}}</td><td>{{done}}</td><td>{{#hasAside}}<a href="/dead?service={{name}}"><strong>⚠ {{aside}}</strong></a>{{/hasAside}}{{^hasAside}}{{aside}}{{/hasAside}}</td><td>{{retried}}</td><td>{{unsent}}</td><td>{{sent}}</td></tr>{{/services}}
        </tbody></table></div>
        <p class="hint">{{t.operationsHint}}</p>
        """

    static let dead = """
        {{> operatorNav}}
        {{#done}}<p role="status" class="done">{{t.replayed}}</p>{{/done}}
        <form method="get" action="/dead" class="filters">
        <div class="field"><label for="service">{{t.service}}</label><select id="service" name="service">{{#choices}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/choices}}</select></div>
        <button type="submit">{{t.show}}</button>
        </form>
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        <p class="hint">{{t.deadHint}}</p>
        {{#empty}}<p>{{t.noDead}} {{queue}}</p>{{/empty}}
        {{^empty}}
        <div class="scroll"><table>
        <caption>{{queue}}: {{t.deadCaption}} {{shown}} / {{total}}{{#capped}} {{t.deadCapped}}{{/capped}}</caption>
        <thead><tr><th scope="col">{{t.messageIdCol}}</th><th scope="col">{{t.typeCol}}</th><th scope="col">{{t.time}}</th><th scope="col">{{t.senderCol}}</th><th scope="col">{{t.auditReason}}</th><th scope="col">{{t.actionsCol}}</th></tr></thead>
        <tbody>
        {{#letters}}<tr><td><code>{{id}}</code></td><td>{{type}}</td><td>{{at}}</td><td>{{sender}}</td><td>{{reason}}</td>
        <td><form method="post" action="/dead/{{service}}/{{id}}/replay" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><button type="submit" aria-label="{{t.replay}} {{id}}">{{t.replay}}</button></form></td></tr>{{/letters}}
        </tbody></table></div>
        {{/empty}}
        """

    static let agencies = """
        {{> operatorNav}}
        {{#done}}<p role="status" class="done">{{done}}</p>{{/done}}
        {{#empty}}<p>{{t.noAgencies}}</p>{{/empty}}
        {{^empty}}
        <div class="scroll"><table>
        <caption>{{t.agenciesCaption}}</caption>
        <thead><tr><th scope="col">{{t.agencyCodeLabel}}</th><th scope="col">{{t.agencyNameCol}}</th><th scope="col">{{t.agencyKindCol}}</th><th scope="col">{{t.unit}}</th><th scope="col">{{t.eventTypesCol}}</th><th scope="col">{{t.accessCol}}</th></tr></thead>
        <tbody>
        {{#agencies}}<tr><th scope="row">{{code}}</th><td>{{name}}</td><td>{{kind}}</td><td>{{unit}}</td><td>{{types}}</td>
        <td>{{#active}}✔ {{t.agencyActive}}{{/active}}{{^active}}<strong>✖ {{t.deactivated}}</strong>{{/active}}
        <form method="post" action="/agencies" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="code" value="{{code}}"><input type="hidden" name="name" value="{{name}}"><input type="hidden" name="kind" value="{{kindValue}}"><input type="hidden" name="unit" value="{{unit}}">{{#typeValues}}<input type="hidden" name="type:{{value}}" value="on">{{/typeValues}}
        {{#active}}<input type="hidden" name="active" value="false"><button type="submit" aria-label="{{t.deactivate}} {{code}}">{{t.deactivate}}</button>{{/active}}{{^active}}<input type="hidden" name="active" value="true"><button type="submit" aria-label="{{t.activate}} {{code}}">{{t.activate}}</button>{{/active}}
        </form></td></tr>{{/agencies}}
        </tbody></table></div>
        {{/empty}}
        <section class="action" aria-labelledby="register-h">
        <h2 id="register-h">{{t.registerAgency}}</h2>
        <p class="hint">{{t.registerAgencyHint}}</p>
        <form method="post" action="/agencies" novalidate>
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <div class="field{{#error_code}} invalid{{/error_code}}"><label for="code">{{t.agencyCodeLabel}}</label><input id="code" name="code" value="{{typedCode}}"{{#error_code}} aria-invalid="true" aria-describedby="code-error"{{/error_code}}>{{#error_code}}<p class="error" id="code-error">{{error_code}}</p>{{/error_code}}</div>
        <div class="field{{#error_name}} invalid{{/error_name}}"><label for="name">{{t.agencyNameCol}}</label><input id="name" name="name" value="{{typedName}}"{{#error_name}} aria-invalid="true" aria-describedby="name-error"{{/error_name}}>{{#error_name}}<p class="error" id="name-error">{{error_name}}</p>{{/error_name}}</div>
        <div class="field{{#error_kind}} invalid{{/error_kind}}"><label for="kind">{{t.agencyKindCol}}</label><select id="kind" name="kind"{{#error_kind}} aria-invalid="true" aria-describedby="kind-error"{{/error_kind}}><option value="">—</option>{{#kinds}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/kinds}}</select>{{#error_kind}}<p class="error" id="kind-error">{{error_kind}}</p>{{/error_kind}}</div>
        <div class="field{{#error_unit}} invalid{{/error_unit}}"><label for="unit">{{t.agencyUnitLabel}}</label><input id="unit" name="unit" value="{{typedUnit}}"{{#error_unit}} aria-invalid="true" aria-describedby="unit-error"{{/error_unit}}>{{#error_unit}}<p class="error" id="unit-error">{{error_unit}}</p>{{/error_unit}}</div>
        <fieldset{{#error_types}} aria-describedby="types-error"{{/error_types}}><legend>{{t.eventTypesCol}}</legend>
        <p class="hint">{{t.eventTypesHint}}</p>
        {{#eventTypes}}<input type="checkbox" id="type-{{value}}" name="type:{{value}}"{{#checked}} checked{{/checked}}> <label for="type-{{value}}" class="inline-label"><code>{{value}}</code></label><br>{{/eventTypes}}
        {{#error_types}}<p class="error" id="types-error">{{error_types}}</p>{{/error_types}}
        </fieldset>
        <button type="submit">{{t.save}}</button>
        </form>
        </section>
        """

    static let routing = """
        {{> operatorNav}}
        {{#done}}<p role="status" class="done">{{done}}</p>{{/done}}
        <p class="hint">{{t.routingHint}}</p>
        {{#rules}}
        <section class="action" aria-labelledby="rule-{{key}}">
        <h2 id="rule-{{key}}"><code>{{type}}</code></h2>
        <form method="post" action="/routing/rules/{{type}}" novalidate>
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <div class="field{{#error}} invalid{{/error}}"><label for="recipients-{{key}}">{{t.recipientsLabel}}</label>
        <input id="recipients-{{key}}" name="recipients" value="{{recipients}}"{{#error}} aria-invalid="true" aria-describedby="error-{{key}}"{{/error}}>
        {{#error}}<p class="error" id="error-{{key}}">{{error}}</p>{{/error}}</div>
        <fieldset><legend>{{t.channelsLabel}}</legend>
        {{#channels}}<input type="checkbox" id="channel-{{key}}-{{value}}" name="channel-{{key}}-{{value}}"{{#checked}} checked{{/checked}}> <label for="channel-{{key}}-{{value}}" class="inline-label">{{label}}</label> {{/channels}}
        </fieldset>
        <div class="field"><input type="checkbox" id="critical-{{key}}" name="critical-{{key}}" value="true"{{#critical}} checked{{/critical}}> <label for="critical-{{key}}" class="inline-label">{{t.criticalLabel}}</label></div>
        <button type="submit" aria-label="{{t.save}} {{type}}">{{t.save}}</button>
        </form>
        </section>
        {{/rules}}
        <section class="action" aria-labelledby="endpoint-h">
        <h2 id="endpoint-h">{{t.endpointTitle}}</h2>
        <p class="hint">{{t.endpointHint}}</p>
        {{#error_endpoint}}<p class="error" id="endpoint-error" role="alert">{{error_endpoint}}</p>{{/error_endpoint}}
        <form method="post" action="/routing/endpoints" novalidate>
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <div class="field"><label for="recipient">{{t.recipientUnit}}</label><input id="recipient" name="recipient" value="{{recipient}}"></div>
        <div class="field"><label for="channel">{{t.channelLabel}}</label><select id="channel" name="channel">{{#endpointChannels}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/endpointChannels}}</select></div>
        <div class="field"><label for="address">{{t.addressLabel}}</label><input id="address" name="address" value="{{address}}"></div>
        <div class="field"><label for="secret">{{t.secretLabel}}</label><input id="secret" name="secret" type="password" autocomplete="new-password"></div>
        <button type="submit">{{t.save}}</button>
        </form>
        </section>
        """

    /// The export of a list holding personal data: the task force states a purpose and picks a format; the
    /// list's filters ride along as hidden fields (`exportAction`, `exportHidden`).
    static let exportForm = """
        <section class="action" aria-labelledby="export-h">
        <h2 id="export-h">{{exportTitle}}</h2>
        <p class="hint" id="export-hint">{{t.exportHint}}</p>
        <form method="post" action="{{exportAction}}" novalidate>
        <input type="hidden" name="_csrf" value="{{csrf}}">
        {{#exportHidden}}<input type="hidden" name="{{name}}" value="{{value}}">{{/exportHidden}}
        <div class="field{{#error_purpose}} invalid{{/error_purpose}}">
        <label for="purpose">{{t.purposeLabel}}</label>
        <textarea id="purpose" name="purpose" rows="2" required aria-describedby="export-hint{{#error_purpose}} purpose-error{{/error_purpose}}"{{#error_purpose}} aria-invalid="true"{{/error_purpose}}>{{purpose}}</textarea>
        {{#error_purpose}}<p class="error" id="purpose-error">{{error_purpose}}</p>{{/error_purpose}}
        </div>
        <fieldset><legend>{{t.formatLabel}}</legend>
        <input type="radio" id="format-csv" name="format" value="csv"{{#csvChecked}} checked{{/csvChecked}}> <label for="format-csv" class="inline-label">{{t.formatCSV}}</label><br>
        <input type="radio" id="format-xlsx" name="format" value="xlsx"{{#xlsxChecked}} checked{{/xlsxChecked}}> <label for="format-xlsx" class="inline-label">{{t.formatXLSX}}</label>
        </fieldset>
        <button type="submit">{{#filtered}}{{t.exportFiltered}}{{/filtered}}{{^filtered}}{{t.exportAll}}{{/filtered}}</button>
        </form>
        </section>
        """

    /// The daily loop over some days: four small charts and the same figures in a table, under `loopTitle` with
    /// the table's `loopCaption` (``ConsolePages/fortnight(_:words:)`` gives `charts` and `days`).
    static let loopDays = """
        <section aria-labelledby="loop-h">
        <h2 id="loop-h">{{loopTitle}}</h2>
        <div class="charts">
        {{#charts}}<figure>{{{svg}}}<figcaption>{{title}}</figcaption></figure>{{/charts}}
        </div>
        <div class="scroll">
        <table>
        <caption>{{loopCaption}}</caption>
        <thead><tr><th scope="col">{{t.date}}</th><th scope="col">{{t.newCases}}</th><th scope="col">{{t.tasksAssigned}}</th><th scope="col">{{t.wentLate}}</th><th scope="col">{{t.tasksCompleted}}</th><th scope="col">{{t.casesClosed}}</th></tr></thead>
        <tbody>
        {{#days}}<tr><th scope="row">{{date}}</th><td>{{casesOpened}}</td><td>{{tasksAssigned}}</td><td>{{tasksLate}}</td><td>{{tasksCompleted}}</td><td>{{casesClosed}}</td></tr>{{/days}}
        </tbody>
        </table>
        </div>
        </section>
        """

    static let css = """
        :root { --ink: #1a1a1a; --paper: #ffffff; --accent: #0b5394; --error: #a30000; --late: #7a4500; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.5 "Noto Sans CJK SC", "Noto Sans", system-ui, sans-serif; color: var(--ink); background: var(--paper); }
        header, main, footer { padding: 0.75rem 1rem; max-width: 60rem; margin: 0 auto; }
        header { border-bottom: 2px solid var(--accent); }
        .product { font-weight: bold; margin: 0; }
        nav a, nav button { margin-right: 1rem; }
        a { color: var(--accent); }
        a:focus, button:focus, input:focus, select:focus { outline: 3px solid #ff9f1a; outline-offset: 2px; }
        .skip { position: absolute; left: -999px; }
        .skip:focus { left: 1rem; top: 1rem; background: var(--paper); padding: 0.5rem; }
        .inline { display: inline; }
        .field { margin: 1rem 0; }
        label { display: block; font-weight: bold; }
        input { font-size: 1rem; padding: 0.5rem; width: 100%; max-width: 24rem; border: 2px solid #555; border-radius: 4px; }
        input[type=radio] { width: auto; }
        .invalid input { border-color: var(--error); }
        .error { color: var(--error); font-weight: bold; }
        .error::before { content: "✖ "; }
        .hint { margin: 0.25rem 0; color: #444; }
        button { font-size: 1rem; padding: 0.5rem 1rem; background: var(--accent); color: #fff; border: 0; border-radius: 4px; cursor: pointer; }
        nav button { background: none; color: var(--accent); text-decoration: underline; padding: 0; }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; padding: 0.4rem; border-bottom: 1px solid #999; }
        tr.late td { color: var(--late); }
        .counts { display: grid; grid-template-columns: repeat(auto-fill, minmax(9rem, 1fr)); gap: 0.5rem; list-style: none; padding: 0; }
        .counts li { border: 1px solid #999; padding: 0.5rem; }
        .counts strong { display: block; font-size: 1.6rem; }
        select, textarea { font-size: 1rem; padding: 0.5rem; width: 100%; max-width: 24rem; border: 2px solid #555; border-radius: 4px; }
        input[type=checkbox] { width: auto; }
        .inline-label { display: inline; }
        article.task { border: 1px solid #999; padding: 0.75rem; margin: 0.75rem 0; }
        article.task.late { border-left: 6px solid var(--late); }
        ul.inbox { list-style: none; padding: 0; }
        ul.inbox li { border-bottom: 1px solid #999; padding: 0.5rem 0; }
        .by { color: #444; }
        section.action, form.action { border-top: 1px solid #999; margin-top: 1rem; padding-top: 0.5rem; }
        fieldset { border: 1px solid #999; margin: 0.5rem 0; }
        figure.qr { margin: 1rem 0; }
        figure.qr svg { max-width: 100%; height: auto; border: 1px solid #999; }
        code.secret { font-size: 1.2rem; letter-spacing: 0.05em; word-break: break-all; }
        footer { color: #444; font-size: 0.9rem; }
        .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr)); gap: 0.5rem; }
        .charts figure { margin: 0; border: 1px solid #999; padding: 0.25rem; }
        svg.chart { width: 100%; height: auto; }
        svg.chart .bar { fill: var(--accent); }
        svg.chart .axis { stroke: var(--ink); stroke-width: 1; }
        svg.chart text { font-size: 11px; fill: var(--ink); }
        svg.chart title { font-weight: bold; }
        svg.chart .line { fill: none; stroke: var(--ink); stroke-width: 2; }
        svg.chart .mark { fill: var(--paper); stroke: var(--ink); stroke-width: 2; }
        .scroll { overflow-x: auto; }
        .done { border-left: 6px solid var(--accent); padding-left: 0.5rem; }
        .done::before { content: "✔ "; }
        ul.referrals { list-style: none; padding: 0; }
        ul.referrals li { border-bottom: 1px solid #999; padding: 0.5rem 0; }
        .split { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1rem; align-items: start; }
        .split figure { margin: 0; }
        @media (max-width: 40rem) { .split { grid-template-columns: 1fr; } }
        strong.small { font-size: 1rem; word-break: break-all; }
        .filters { display: flex; flex-wrap: wrap; gap: 0 1rem; align-items: end; }
        .filters .field { margin: 0.5rem 0; }
        .pickers { display: grid; grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr)); gap: 0 1rem; }
        .picker-title { font-weight: bold; margin: 0.5rem 0 0; width: 100%; }
        .subnav { margin: 0 0 1rem; padding: 0.5rem 0; border-bottom: 1px solid #999; }
        dl dt { font-weight: bold; }
        dl dd { margin: 0 0 0.5rem; }
        @media print {
          nav, .skip, footer, header .who, .no-print { display: none; }
          body { font-size: 11pt; color: #000; }
          header, main { max-width: none; padding: 0; }
          h1 { font-size: 16pt; text-align: center; }
          table { page-break-inside: auto; }
          tr { page-break-inside: avoid; }
          th, td { border: 1px solid #000; }
          a { color: #000; text-decoration: none; }
        }
        """
}
