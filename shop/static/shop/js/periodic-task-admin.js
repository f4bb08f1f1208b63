// django-celery-beat's periodic task form: show a readable translation of the chosen
// crontab under its field (its template did this inline; see
// templates/admin/djcelery/change_periodictask_form.html).
(function ($) {
  const readableCrontabs = JSON.parse($("#readable-crontabs").text());
  const originalCrontabHelp = $("#periodic-task-overrides").data("crontab-help");
  const updateCrontabHelp = function (additional) {
    $(".field-crontab .help").text(originalCrontabHelp).append("<br>", document.createTextNode("Translation: " + additional));
  };
  $(".field-crontab_translation").hide();
  $(".field-crontab").change(function () {
    updateCrontabHelp(readableCrontabs[$("#id_crontab").val()]);
  });
})(django.jQuery);
